// A model version as published to S3: `models/{name}/{version}/…` and its `manifest.json`, which lists
// every file with its size and sha256. The manifest is written last: a version exists once it does.
import { z } from 'zod';
import { InvalidKeyError } from './errors.js';
import { assertSafeKey, modelKey } from './keys.js';
import type { ObjectStore } from './object-store.js';
import { openVerifiedStream } from './verified-download.js';

export const MANIFEST_FILE = 'manifest.json';

/** A model name or version: a directory name on every host, never hidden, never `.`/`..`. */
const SEGMENT = /^[A-Za-z0-9][A-Za-z0-9._+-]{0,127}$/;

function checkSegment(value: string, what: 'name' | 'version'): string {
  if (typeof value !== 'string' || !SEGMENT.test(value))
    throw new InvalidKeyError(
      value,
      `a model ${what} is 1-128 of A-Z a-z 0-9 . _ + - and starts with a letter or digit`,
    );
  return value;
}

export const checkModelName = (name: string): string => checkSegment(name, 'name');
export const checkModelVersion = (version: string): string => checkSegment(version, 'version');

const filePath = z.string().refine(
  (value) => {
    try {
      assertSafeKey(value);
      return value !== MANIFEST_FILE;
    } catch {
      return false;
    }
  },
  { message: 'a relative path without empty, "." or ".." segments, other than manifest.json' },
);

export const modelManifestSchema = z.object({
  format: z.literal(1),
  name: z.string().regex(SEGMENT),
  version: z.string().regex(SEGMENT),
  createdAt: z.iso.datetime(),
  totalBytes: z.number().int().nonnegative(),
  files: z
    .array(
      z.object({
        path: filePath,
        size: z.number().int().nonnegative(),
        sha256: z.string().regex(/^[0-9a-f]{64}$/),
      }),
    )
    .min(1),
});

export type ModelManifest = z.infer<typeof modelManifestSchema>;
export type ModelFile = ModelManifest['files'][number];

/** `models/{name}/{version}/` */
export function modelVersionPrefix(name: string, version: string): string {
  return `${modelKey(checkModelName(name), checkModelVersion(version))}/`;
}

export function modelManifestKey(name: string, version: string): string {
  return `${modelVersionPrefix(name, version)}${MANIFEST_FILE}`;
}

export function modelFileKey(name: string, version: string, file: string): string {
  return assertSafeKey(`${modelVersionPrefix(name, version)}${file}`);
}

/** A model version that is not published (no manifest) or whose manifest is not one. */
export class ModelManifestError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ModelManifestError';
  }
}

/** Parses a manifest's bytes; ModelManifestError naming `source` and the first problem otherwise. */
export function parseModelManifest(text: string, source: string): ModelManifest {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new ModelManifestError(`${source} is not JSON: ${(error as Error).message}`);
  }
  const parsed = modelManifestSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new ModelManifestError(
      `${source} is not a model manifest: ${issue.path.join('.')}: ${issue.message}`,
    );
  }
  const seen = new Set<string>();
  for (const file of parsed.data.files) {
    if (seen.has(file.path)) throw new ModelManifestError(`${source} lists ${file.path} twice`);
    seen.add(file.path);
  }
  return parsed.data;
}

/**
 * The published manifest of a version, read through a verified download (its `sha256` metadata), with
 * the exact bytes so a host can keep them as published. ModelManifestError when it is not published.
 */
export async function readPublishedManifest(
  store: ObjectStore,
  name: string,
  version: string,
): Promise<{ manifest: ModelManifest; bytes: Buffer }> {
  const key = modelManifestKey(name, version);
  if (!(await store.exists(key)))
    throw new ModelManifestError(`model ${name} version ${version} is not published (no ${key})`);
  const chunks: Buffer[] = [];
  for await (const chunk of openVerifiedStream(store, key)) chunks.push(chunk as Buffer);
  const bytes = Buffer.concat(chunks);
  const manifest = parseModelManifest(bytes.toString('utf8'), key);
  if (manifest.name !== name || manifest.version !== version)
    throw new ModelManifestError(`${key} names ${manifest.name} ${manifest.version}, not ${name} ${version}`);
  return { manifest, bytes };
}

export interface PublishedModelVersion {
  name: string;
  version: string;
  /** When the manifest was written. */
  publishedAt?: Date;
}

/** Every published version (a `manifest.json` under `models/{name}/{version}/`), by name then version. */
export async function listPublishedModels(
  store: ObjectStore,
  options: { name?: string } = {},
): Promise<PublishedModelVersion[]> {
  const prefix = options.name ? `${modelKey(checkModelName(options.name))}/` : 'models/';
  const found: PublishedModelVersion[] = [];
  for await (const item of store.listAll(prefix)) {
    const match = /^models\/([^/]+)\/([^/]+)\/manifest\.json$/.exec(item.key);
    if (match)
      found.push({
        name: match[1]!,
        version: match[2]!,
        ...(item.lastModified ? { publishedAt: item.lastModified } : {}),
      });
  }
  return found.sort((a, b) => a.name.localeCompare(b.name) || a.version.localeCompare(b.version));
}
