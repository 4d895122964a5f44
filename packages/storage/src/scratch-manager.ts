import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { bytesFromEnv, envVar, readEnv } from '@audio/config';
import type { Logger } from '@audio/logger';
import { isBatchId } from '@audio/queues';
import { InsufficientScratchError, ScratchEscapeError } from './errors.js';
import { checkBatchId } from './keys.js';

export interface ScratchManagerOptions {
  root: string;
  /** Space that must stay free after the work's own bytes; default 2 GiB. */
  minFreeBytes?: number;
  logger?: Logger;
}

const DEFAULT_MIN_FREE = 2 * 1024 ** 3;

const scratchEnv = z.object({
  SCRATCH_ROOT: envVar(
    z
      .string()
      .refine((value) => path.isAbsolute(value), 'must be an absolute path')
      .default('/data/scratch'),
    '/data/scratch',
  ),
  SCRATCH_MIN_FREE: envVar(bytesFromEnv.default(DEFAULT_MIN_FREE), '2GiB'),
});

/**
 * The GPU host's local working space: one directory per batch under the root. Every path handed out is
 * checked to stay inside its batch directory, following symlinks, because archive entry names come from
 * outside. Removal is idempotent; a sweep removes what crashed batches left behind.
 */
export class ScratchManager {
  readonly root: string;
  readonly minFreeBytes: number;
  private readonly logger: Logger | undefined;

  constructor(options: ScratchManagerOptions) {
    if (!options.root) throw new Error('ScratchManager needs a root directory');
    this.root = path.resolve(options.root);
    this.minFreeBytes = options.minFreeBytes ?? DEFAULT_MIN_FREE;
    this.logger = options.logger;
  }

  /** From SCRATCH_ROOT (default /data/scratch) and SCRATCH_MIN_FREE (default 2GiB). */
  static fromEnv(env: NodeJS.ProcessEnv = process.env, logger?: Logger): ScratchManager {
    const e = readEnv(scratchEnv, env);
    return new ScratchManager({
      root: e.SCRATCH_ROOT,
      minFreeBytes: e.SCRATCH_MIN_FREE,
      ...(logger ? { logger } : {}),
    });
  }

  batchDir(batchId: string): string {
    return path.join(this.root, checkBatchId(batchId));
  }

  /** Creates the batch directory (and the root); returns its path. Creating it twice is fine. */
  async create(batchId: string): Promise<string> {
    const dir = this.batchDir(batchId);
    await fsp.mkdir(dir, { recursive: true });
    const real = await fsp.realpath(dir);
    if (real !== path.join(await fsp.realpath(this.root), batchId))
      throw new ScratchEscapeError(
        batchId,
        '.',
        `the batch directory resolves to ${real}, outside ${this.root}`,
      );
    return dir;
  }

  /**
   * The absolute path of `relativePath` inside the batch directory. Refuses absolute paths, `..` segments,
   * NUL bytes, and paths whose existing part leads out of the batch directory through a symlink.
   */
  resolve(batchId: string, relativePath: string): string {
    const dir = this.batchDir(batchId);
    const refuse = (reason: string) => new ScratchEscapeError(batchId, relativePath, reason);
    if (typeof relativePath !== 'string' || relativePath === '') throw refuse('the path is empty');
    if (relativePath.includes('\0')) throw refuse('the path contains a NUL byte');
    if (path.isAbsolute(relativePath) || /^[a-zA-Z]:/.test(relativePath))
      throw refuse('the path is absolute');
    if (relativePath.split(/[/\\]/).includes('..')) throw refuse('the path contains a ".." segment');
    const target = path.resolve(dir, relativePath);
    if (!isInsideOrSame(dir, target)) throw refuse(`it resolves to ${target}, outside ${dir}`);
    // Symlinks: the deepest part of the path that exists (a link itself counts, even a dangling one)
    // must really be inside the batch directory.
    let existing = target;
    while (!lexists(existing) && existing !== dir) existing = path.dirname(existing);
    if (lexists(existing)) {
      let real: string;
      try {
        real = fs.realpathSync(existing);
      } catch {
        throw refuse(`${existing} is a dangling symlink`);
      }
      const realDir = fs.realpathSync(dir);
      if (realDir !== path.join(fs.realpathSync(this.root), batchId))
        throw refuse(`the batch directory itself leads to ${realDir}, outside ${this.root}`);
      if (!isInsideOrSame(realDir, real))
        throw refuse(`it leads through a symlink to ${real}, outside ${dir}`);
    }
    return target;
  }

  /** Bytes available to this process on the scratch filesystem. */
  async freeBytes(): Promise<number> {
    let dir = this.root;
    while (!fs.existsSync(dir) && path.dirname(dir) !== dir) dir = path.dirname(dir);
    const stats = await fsp.statfs(dir);
    return stats.bavail * stats.bsize;
  }

  /** Throws InsufficientScratchError unless `bytes` fit and minFreeBytes would still be left. */
  async ensureFreeSpace(bytes: number): Promise<void> {
    const free = await this.freeBytes();
    if (free - bytes < this.minFreeBytes)
      throw new InsufficientScratchError(this.root, bytes, free, this.minFreeBytes);
  }

  /** Removes the batch directory; true when there was one. Safe to call again and concurrently. */
  async remove(batchId: string): Promise<boolean> {
    const dir = this.batchDir(batchId);
    let existed = true;
    try {
      await fsp.lstat(dir);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      existed = false;
    }
    await fsp.rm(dir, { recursive: true, force: true, maxRetries: 3 });
    return existed;
  }

  /**
   * Removes batch directories that no running batch owns and that were last modified more than
   * `olderThanMs` ago (a host that crashed mid-batch leaves them). Only entries named like batch ids are
   * touched. Returns the batch ids removed.
   */
  async sweepStale(options: { activeBatchIds: Iterable<string>; olderThanMs: number }): Promise<string[]> {
    const active = new Set(options.activeBatchIds);
    const cutoff = Date.now() - options.olderThanMs;
    let entries: fs.Dirent[];
    try {
      entries = await fsp.readdir(this.root, { withFileTypes: true });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw error;
    }
    const removed: string[] = [];
    for (const entry of entries) {
      if (!isBatchId(entry.name) || active.has(entry.name)) continue;
      const full = path.join(this.root, entry.name);
      const stat = await fsp.lstat(full).catch(() => undefined);
      if (!stat || stat.mtimeMs > cutoff) continue;
      await fsp.rm(full, { recursive: true, force: true, maxRetries: 3 });
      removed.push(entry.name);
      this.logger?.info({ batchId: entry.name, dir: full }, 'removed stale scratch directory');
    }
    return removed;
  }
}

function isInsideOrSame(dir: string, target: string): boolean {
  const relative = path.relative(dir, target);
  return (
    relative === '' ||
    (relative !== '..' && !relative.startsWith(`..${path.sep}`) && !path.isAbsolute(relative))
  );
}

function lexists(file: string): boolean {
  try {
    fs.lstatSync(file);
    return true;
  } catch {
    return false;
  }
}
