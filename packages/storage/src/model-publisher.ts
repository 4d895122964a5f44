import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Logger } from '@audio/logger';
import { ArchiveUploader } from './archive-uploader.js';
import { ObjectExistsError } from './errors.js';
import { digestFile } from './file-digest.js';
import {
  checkModelName,
  checkModelVersion,
  MANIFEST_FILE,
  modelFileKey,
  modelManifestKey,
  modelVersionPrefix,
  type ModelFile,
  type ModelManifest,
} from './model-manifest.js';
import { isNotImplemented, type ObjectStore } from './object-store.js';

export interface PublishModelOptions {
  dir: string;
  name: string;
  version: string;
  /** Where resumable multipart uploads keep their state; default: a folder in the OS temp dir. */
  stateDir?: string;
  logger?: Logger;
  signal?: AbortSignal;
  onFile?: (file: ModelFile, action: 'uploaded' | 'reused') => void;
}

export interface PublishModelResult {
  manifest: ModelManifest;
  manifestKey: string;
  /** Files sent now, and files an earlier, interrupted publish had already sent with the same sha256. */
  uploaded: string[];
  reused: string[];
  /**
   * How the overwrite of an existing version was refused: by the server (`If-None-Match: *` on the
   * manifest: AWS, MinIO), or, where the server answers conditional PUTs with 501 NotImplemented
   * (Swift 2.30's s3api), by checking that no manifest exists right before writing it.
   */
  createOnly: 'conditional-put' | 'check-then-write';
}

/** A file of a model directory that cannot be published as it is. */
export class ModelSourceError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ModelSourceError';
  }
}

/**
 * Publishes a model directory once, as `models/{name}/{version}/…` plus `manifest.json` (every file's
 * path, size and sha256). A version is immutable: when its manifest exists, publishing is refused
 * (ObjectExistsError) before anything is sent. The files go first (large ones as resumable multipart
 * uploads), the manifest last: it is the commit point, so a publish cut short leaves no version, only
 * files that the next attempt finds with the right sha256 and does not send again.
 */
export async function publishModel(
  store: ObjectStore,
  options: PublishModelOptions,
): Promise<PublishModelResult> {
  const { name, version, logger = store.logger } = options;
  checkModelName(name);
  checkModelVersion(version);
  const manifestKey = modelManifestKey(name, version);
  const refuse = () =>
    new ObjectExistsError(
      manifestKey,
      `model ${name} version ${version} is published already; versions are immutable, publish a new one`,
    );
  if (await store.exists(manifestKey)) throw refuse();

  const local = await listModelFiles(options.dir);
  const uploader = new ArchiveUploader(store, {
    stateDir: options.stateDir ?? path.join(os.tmpdir(), 'audio-pipeline-model-uploads'),
    ...(logger ? { logger } : {}),
  });
  const files: ModelFile[] = [];
  const uploaded: string[] = [];
  const reused: string[] = [];
  for (const relative of local) {
    options.signal?.throwIfAborted();
    const source = path.join(options.dir, relative);
    const key = modelFileKey(name, version, relative);
    const { size } = await fs.stat(source);
    const head = await store.head(key);
    let sha256: string | undefined;
    if (head && head.size === size && head.metadata.sha256) {
      const digest = await digestFile(source, options.signal ? { signal: options.signal } : {});
      if (digest.sha256 === head.metadata.sha256) sha256 = digest.sha256;
    }
    const action = sha256 ? 'reused' : 'uploaded';
    if (!sha256) {
      const put = await uploader.upload(source, key, {
        contentType: 'application/octet-stream',
        ...(options.signal ? { signal: options.signal } : {}),
      });
      if (put.size !== size) throw new ModelSourceError(`${source} changed while it was published`);
      sha256 = put.sha256;
    }
    const file = { path: relative, size, sha256 };
    files.push(file);
    (action === 'reused' ? reused : uploaded).push(relative);
    options.onFile?.(file, action);
  }

  // Objects of an earlier attempt with other files would sit next to the version, never synced: remove.
  const listed = new Set(files.map((f) => modelFileKey(name, version, f.path)));
  const strays: string[] = [];
  for await (const item of store.listAll(modelVersionPrefix(name, version)))
    if (!listed.has(item.key) && item.key !== manifestKey) strays.push(item.key);
  if (strays.length > 0) await store.deleteMany(strays);

  const manifest: ModelManifest = {
    format: 1,
    name,
    version,
    createdAt: new Date().toISOString(),
    totalBytes: files.reduce((sum, f) => sum + f.size, 0),
    files,
  };
  const bytes = Buffer.from(`${JSON.stringify(manifest, null, 2)}\n`);
  const put = { contentType: 'application/json' };
  let createOnly: PublishModelResult['createOnly'] = 'conditional-put';
  try {
    await store.putBytes(manifestKey, bytes, { ...put, createOnly: true });
  } catch (error) {
    if (error instanceof ObjectExistsError) throw refuse();
    if (!isNotImplemented(error)) throw error;
    // Swift: no conditional PUTs. Two publishers of one version racing between this check and the PUT
    // both succeed (the last manifest wins); publish each version from one place.
    createOnly = 'check-then-write';
    if (await store.exists(manifestKey)) throw refuse();
    await store.putBytes(manifestKey, bytes, put);
  }
  logger?.info(
    { name, version, files: files.length, uploaded: uploaded.length, createOnly },
    'model published',
  );
  return { manifest, manifestKey, uploaded, reused, createOnly };
}

/** The regular files under `dir`, as sorted `/`-separated relative paths; symlinks and the like refused. */
export async function listModelFiles(dir: string): Promise<string[]> {
  const stat = await fs.stat(dir).catch(() => undefined);
  if (!stat?.isDirectory()) throw new ModelSourceError(`${dir} is not a directory`);
  const found: string[] = [];
  const walk = async (relative: string): Promise<void> => {
    const entries = await fs.readdir(path.join(dir, relative), { withFileTypes: true });
    for (const entry of entries) {
      const child = relative ? `${relative}/${entry.name}` : entry.name;
      if (entry.isDirectory()) await walk(child);
      else if (entry.isFile()) found.push(child);
      else
        throw new ModelSourceError(
          `${path.join(dir, child)} is not a regular file (a symlink or special file): publish the files themselves`,
        );
    }
  };
  await walk('');
  if (found.includes(MANIFEST_FILE))
    throw new ModelSourceError(
      `${path.join(dir, MANIFEST_FILE)}: that name is the version's manifest; rename the file`,
    );
  if (found.length === 0) throw new ModelSourceError(`${dir} has no files to publish`);
  return found.sort();
}
