import crypto from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from '@audio/logger';
import { ChecksumMismatchError } from './errors.js';
import { digestFile } from './file-digest.js';
import {
  checkModelName,
  checkModelVersion,
  MANIFEST_FILE,
  modelFileKey,
  parseModelManifest,
  readPublishedManifest,
  type ModelFile,
  type ModelManifest,
} from './model-manifest.js';
import type { ObjectStore } from './object-store.js';
import { downloadVerified } from './verified-download.js';

/**
 * On a host, under MODELS_ROOT:
 *
 *   {name} -> .versions/{name}/{version}      the version in use (a relative symlink)
 *   .versions/{name}/{version}/…              complete, verified versions (their manifest.json last)
 *   .versions/{name}/.staging-{version}/      a sync under way or cut short; the next sync resumes it
 *
 * `{name}` is the directory the sidecar loads (MODELS_ROOT/whisperx, MODELS_ROOT/cope-a-lora, …), so it
 * always names a whole version: the link is replaced by rename(2), never edited in place.
 */
export const VERSIONS_DIR = '.versions';
const STAGING_PREFIX = '.staging-';

export interface SyncModelOptions {
  name: string;
  version: string;
  /** MODELS_ROOT. */
  root: string;
  /** Versions of this model kept on disk, the one switched in included (default 2: one to roll back to). */
  keep?: number;
  /** Re-hash every file of a version that is installed already (default: sizes only). */
  verify?: boolean;
  logger?: Logger;
  signal?: AbortSignal;
  onFile?: (file: ModelFile, action: 'fetched' | 'reused') => void;
}

export interface SyncModelResult {
  name: string;
  version: string;
  /** The version's directory (what `{root}/{name}` points to). */
  dir: string;
  fetched: string[];
  reused: string[];
  bytesFetched: number;
  /** The version the link pointed to before, when another. */
  previous?: string;
  /** The link was made or moved (false: it named this version already). */
  switched: boolean;
  /** Versions removed beyond `keep`. */
  removed: string[];
}

/** A local file whose bytes are not what the manifest says, or a layout the sync will not touch. */
export class ModelSyncError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ModelSyncError';
  }
}

/**
 * Brings one published version onto this host and switches it in. Resumable: files already in the
 * staging directory with the manifest's sha256 are kept, others fetched (each through a verified
 * download against the manifest's sha256). Only when every file is verified does the staging
 * directory become the version (rename) and the link move to it (rename), so the sidecar never sees
 * a half-synced model.
 */
export async function syncModel(store: ObjectStore, options: SyncModelOptions): Promise<SyncModelResult> {
  const { name, version, root, logger = store.logger } = options;
  checkModelName(name);
  checkModelVersion(version);
  const keep = options.keep ?? 2;
  if (!Number.isInteger(keep) || keep < 1)
    throw new RangeError(`keep must be a whole number ≥ 1, got ${keep}`);
  const versionsDir = path.join(root, VERSIONS_DIR, name);
  const finalDir = path.join(versionsDir, version);
  const stagingDir = path.join(versionsDir, `${STAGING_PREFIX}${version}`);

  const current = await currentVersion(root, name);
  await fs.mkdir(versionsDir, { recursive: true });
  const release = await lock(versionsDir, name);
  try {
    const { manifest, bytes } = await readPublishedManifest(store, name, version);
    const result: SyncModelResult = {
      name,
      version,
      dir: finalDir,
      fetched: [],
      reused: [],
      bytesFetched: 0,
      switched: current !== version,
      removed: [],
    };
    if (current && current !== version) result.previous = current;

    if (!(await installedIntact(finalDir, manifest, options.verify ?? false, logger))) {
      await fs.mkdir(stagingDir, { recursive: true });
      for (const file of manifest.files) {
        options.signal?.throwIfAborted();
        const target = path.join(stagingDir, ...file.path.split('/'));
        if (await hasBytes(target, file)) {
          result.reused.push(file.path);
          options.onFile?.(file, 'reused');
          continue;
        }
        await fetchFile(store, manifest, file, target, options);
        result.fetched.push(file.path);
        result.bytesFetched += file.size;
        options.onFile?.(file, 'fetched');
      }
      await removeUnlisted(stagingDir, manifest);
      // The manifest last: a version directory with its manifest is a complete one.
      await writeDurably(path.join(stagingDir, MANIFEST_FILE), bytes);
      await fs.rm(finalDir, { recursive: true, force: true });
      await fs.rename(stagingDir, finalDir);
      await fsyncPath(versionsDir);
    }
    await switchLink(root, name, finalDir);
    result.removed = await prune(versionsDir, version, keep);
    logger?.info(
      {
        name,
        version,
        fetched: result.fetched.length,
        reused: result.reused.length,
        previous: result.previous,
      },
      'model version synced and switched in',
    );
    return result;
  } finally {
    await release();
  }
}

export interface InstalledModel {
  name: string;
  version: string;
  dir: string;
}

/** The versions the links under `root` point to (models placed by hand, without a link, are not listed). */
export async function installedModels(root: string): Promise<InstalledModel[]> {
  const entries = await fs.readdir(root, { withFileTypes: true }).catch(() => []);
  const found: InstalledModel[] = [];
  for (const entry of entries) {
    if (!entry.isSymbolicLink()) continue;
    const version = await currentVersion(root, entry.name);
    if (version)
      found.push({ name: entry.name, version, dir: path.join(root, VERSIONS_DIR, entry.name, version) });
  }
  return found.sort((a, b) => a.name.localeCompare(b.name));
}

/** The version `{root}/{name}` points to; undefined when absent; ModelSyncError when it is not our link. */
async function currentVersion(root: string, name: string): Promise<string | undefined> {
  const link = path.join(root, name);
  const stat = await fs.lstat(link).catch(() => undefined);
  if (!stat) return undefined;
  if (!stat.isSymbolicLink())
    throw new ModelSyncError(
      `${link} exists and is not a link made by model sync; move it away (or name the model differently)`,
    );
  const target = await fs.readlink(link);
  const match = new RegExp(`^${VERSIONS_DIR}/([^/]+)/([^/]+)$`).exec(target.split(path.sep).join('/'));
  if (!match || match[1] !== name)
    throw new ModelSyncError(`${link} points to ${target}, not to a synced version of ${name}; move it away`);
  return match[2];
}

async function installedIntact(
  dir: string,
  manifest: ModelManifest,
  verify: boolean,
  logger: Logger | undefined,
): Promise<boolean> {
  const text = await fs.readFile(path.join(dir, MANIFEST_FILE), 'utf8').catch(() => undefined);
  if (text === undefined) return false;
  let problem: string | undefined;
  try {
    const installed = parseModelManifest(text, path.join(dir, MANIFEST_FILE));
    if (JSON.stringify(installed.files) !== JSON.stringify(manifest.files))
      problem = 'its manifest differs from the published one';
    for (const file of installed.files) {
      if (problem) break;
      const target = path.join(dir, ...file.path.split('/'));
      const ok = verify
        ? await hasBytes(target, file)
        : (await fs.stat(target).catch(() => undefined))?.size === file.size;
      if (!ok) problem = `${file.path} is missing or differs`;
    }
  } catch (error) {
    problem = (error as Error).message;
  }
  if (!problem) return true;
  // Synced again through staging: the intact files are kept there, the others fetched.
  logger?.warn({ dir, problem }, 'installed model version is damaged; syncing it again');
  const staging = path.join(path.dirname(dir), `${STAGING_PREFIX}${path.basename(dir)}`);
  await fs.rm(path.join(dir, MANIFEST_FILE), { force: true });
  await fs.rm(staging, { recursive: true, force: true });
  await fs.rename(dir, staging);
  return false;
}

/** True when the file exists with the manifest's size and sha256. */
async function hasBytes(target: string, file: ModelFile): Promise<boolean> {
  const stat = await fs.lstat(target).catch(() => undefined);
  if (!stat?.isFile() || stat.size !== file.size) return false;
  return (await digestFile(target)).sha256 === file.sha256;
}

async function fetchFile(
  store: ObjectStore,
  manifest: ModelManifest,
  file: ModelFile,
  target: string,
  options: SyncModelOptions,
): Promise<void> {
  const key = modelFileKey(manifest.name, manifest.version, file.path);
  await fs.rm(target, { recursive: true, force: true });
  let got;
  try {
    got = await downloadVerified(store, key, target, {
      expectedSha256: file.sha256,
      ...(options.signal ? { signal: options.signal } : {}),
      ...(options.logger ? { logger: options.logger } : {}),
    });
  } catch (error) {
    if (error instanceof ChecksumMismatchError)
      throw new ModelSyncError(
        `model ${manifest.name} ${manifest.version}: ${file.path} does not match its manifest ` +
          `(expected ${error.expected}, got ${error.actual}); the published copy is damaged`,
      );
    throw error;
  }
  if (got.size !== file.size) {
    await fs.rm(target, { force: true });
    throw new ModelSyncError(
      `model ${manifest.name} ${manifest.version}: ${file.path} is ${got.size} bytes, the manifest says ${file.size}`,
    );
  }
  await fsyncPath(target);
}

/** Files and directories in staging that the manifest does not list (an older attempt's) are removed. */
async function removeUnlisted(dir: string, manifest: ModelManifest): Promise<void> {
  const listed = new Set(manifest.files.map((f) => f.path));
  const prefixes = new Set(
    manifest.files.flatMap((f) =>
      f.path
        .split('/')
        .slice(0, -1)
        .map((_, i, all) => all.slice(0, i + 1).join('/')),
    ),
  );
  const walk = async (relative: string): Promise<void> => {
    for (const entry of await fs.readdir(path.join(dir, relative), { withFileTypes: true })) {
      const child = relative ? `${relative}/${entry.name}` : entry.name;
      if (entry.isDirectory() && prefixes.has(child)) await walk(child);
      else if (!(entry.isFile() && listed.has(child)))
        await fs.rm(path.join(dir, child), { recursive: true, force: true });
    }
  };
  await walk('');
}

/** Points `{root}/{name}` at `dir` in one rename: a new link under a temporary name, renamed over the old. */
async function switchLink(root: string, name: string, dir: string): Promise<void> {
  const link = path.join(root, name);
  const temporary = path.join(root, `.${name}.link-${crypto.randomBytes(4).toString('hex')}`);
  await fs.symlink(path.relative(root, dir), temporary);
  try {
    await fs.rename(temporary, link);
  } catch (error) {
    await fs.rm(temporary, { force: true });
    throw error;
  }
  await fsyncPath(root);
}

/** Removes versions beyond `keep` (oldest first), never `current`; and other versions' stale staging. */
async function prune(versionsDir: string, current: string, keep: number): Promise<string[]> {
  const entries = await fs.readdir(versionsDir, { withFileTypes: true });
  const versions: { name: string; mtimeMs: number }[] = [];
  for (const entry of entries) {
    if (!entry.isDirectory() || entry.name === current) continue;
    const dir = path.join(versionsDir, entry.name);
    if (entry.name.startsWith(STAGING_PREFIX)) await fs.rm(dir, { recursive: true, force: true });
    else if (!entry.name.startsWith('.'))
      versions.push({ name: entry.name, mtimeMs: (await fs.stat(dir)).mtimeMs });
  }
  const removed = versions.sort((a, b) => b.mtimeMs - a.mtimeMs).slice(keep - 1);
  for (const old of removed) await fs.rm(path.join(versionsDir, old.name), { recursive: true, force: true });
  return removed.map((v) => v.name);
}

/** One sync per model at a time on a host; a lock left by a dead process is taken over. */
async function lock(versionsDir: string, name: string): Promise<() => Promise<void>> {
  const file = path.join(versionsDir, '.lock');
  for (let attempt = 0; attempt < 2; attempt += 1) {
    try {
      await fs.writeFile(file, String(process.pid), { flag: 'wx' });
      return () => fs.rm(file, { force: true });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const pid = Number(await fs.readFile(file, 'utf8').catch(() => ''));
      if (pid > 0 && pid !== process.pid && isAlive(pid))
        throw new ModelSyncError(`another sync of model ${name} is running (pid ${pid}, ${file})`);
      await fs.rm(file, { force: true });
    }
  }
  throw new ModelSyncError(`could not take ${file}`);
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function writeDurably(file: string, bytes: Buffer): Promise<void> {
  await fs.writeFile(file, bytes);
  await fsyncPath(file);
}

/**
 * fsync of a file, or of a directory so that a rename in it survives a power cut (ext4 and XFS make the
 * entry durable only with the directory's fsync).
 */
async function fsyncPath(file: string): Promise<void> {
  const handle = await fs.open(file, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
