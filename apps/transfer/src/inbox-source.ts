import fs from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import picomatch from 'picomatch';
import type { Logger } from '@audio/logger';
import { InvalidArchiveError } from './archive-check.js';
import { ArchiveConflictError, type ArchiveIngester, type IngestResult } from './archive-ingester.js';
import type { InboxConfig } from './config.js';
import { PolledSource } from './polling-loop.js';
import { batchIdForSourceFile } from './source-batch-id.js';
import { nameWithBatchId, StabilityTracker } from './stability-tracker.js';

export interface InboxIngested extends IngestResult {
  file: string;
  /** Where the file went after ingest; undefined when INBOX_DELETE_AFTER_INGEST removed it. */
  donePath?: string;
}

export interface InboxPollResult {
  ingested: InboxIngested[];
  /** Refused for good (not a tar archive, …): moved to `rejected/` with a `.reason.txt` beside it. */
  rejected: { file: string; rejectedPath: string; reason: string }[];
  /** Matching files not yet stable across two looks, or younger than INBOX_MIN_AGE. */
  waiting: string[];
  /** Failed this time (S3 or Redis down, …); they stay and are tried again at the next poll. */
  failed: { file: string; error: string }[];
}

export interface InboxSourceOptions {
  ingester: ArchiveIngester;
  logger?: Logger;
  now?: () => number;
}

export const DONE_SUBDIR = 'done';
export const REJECTED_SUBDIR = 'rejected';

/**
 * Takes archives dropped into a local directory. A file is taken once its size and mtime were the same
 * in two successive polls and it is older than INBOX_MIN_AGE (whoever writes it is done). It is ingested
 * in place under a batch id derived from its path, size and mtime, then moved to `done/` (or deleted).
 * A file that is not an archive moves to `rejected/` with the reason in `<name>.reason.txt`; any other
 * failure leaves it where it is for the next poll.
 */
export class InboxSource extends PolledSource<InboxPollResult> {
  private readonly logger: Logger | undefined;
  private readonly matches: (name: string) => boolean;
  private readonly stability: StabilityTracker;

  constructor(
    readonly config: InboxConfig,
    private readonly options: InboxSourceOptions,
  ) {
    const logger = options.logger?.child({ source: 'inbox', dir: config.dir });
    super(config.pollIntervalMs, logger);
    this.logger = logger;
    this.matches = picomatch(config.pattern, { dot: false });
    this.stability = new StabilityTracker(config.minAgeMs, 'two-looks', options.now);
  }

  /** One look at the directory; ingests the files that were stable since the previous look. */
  protected async poll(signal: AbortSignal): Promise<InboxPollResult> {
    const result: InboxPollResult = { ingested: [], rejected: [], waiting: [], failed: [] };
    const dir = this.config.dir;
    const entries = await fs.readdir(dir, { withFileTypes: true }).catch((error: NodeJS.ErrnoException) => {
      throw new Error(`cannot read INBOX_DIR ${dir}: ${error.code ?? error.message}`);
    });
    const listed = [];
    for (const entry of entries) {
      if (!entry.isFile() || !this.matches(entry.name)) continue;
      const stat = await fs.stat(path.join(dir, entry.name)).catch(() => undefined);
      if (stat) listed.push({ name: entry.name, size: stat.size, mtimeMs: stat.mtimeMs });
    }
    listed.sort((a, b) => a.mtimeMs - b.mtimeMs || a.name.localeCompare(b.name));
    const ready = this.stability.update(listed);
    for (const file of listed) {
      const filePath = path.join(dir, file.name);
      if (!ready.has(file.name)) {
        result.waiting.push(filePath);
        continue;
      }
      signal.throwIfAborted();
      const url = pathToFileURL(filePath).href;
      const batchId = batchIdForSourceFile({ url, size: file.size, mtimeMs: file.mtimeMs });
      try {
        const ingested = await this.options.ingester.ingest(filePath, { source: url, batchId, signal });
        const donePath = await this.finish(file.name, batchId);
        result.ingested.push({ ...ingested, file: filePath, ...(donePath ? { donePath } : {}) });
        this.logger?.info({ file: filePath, batchId, donePath }, 'inbox file ingested');
      } catch (error) {
        if (signal.aborted) throw error;
        if (error instanceof InvalidArchiveError || error instanceof ArchiveConflictError) {
          const rejectedPath = await this.reject(file.name, error.message);
          result.rejected.push({ file: filePath, rejectedPath, reason: error.message });
          this.logger?.warn({ file: filePath, rejectedPath, reason: error.message }, 'inbox file rejected');
          continue;
        }
        const message = error instanceof Error ? error.message : String(error);
        this.logger?.warn(
          { err: error, file: filePath },
          'inbox file not ingested; it stays and is tried again',
        );
        result.failed.push({ file: filePath, error: message });
      }
    }
    return result;
  }

  private async finish(name: string, batchId: string): Promise<string | undefined> {
    const from = path.join(this.config.dir, name);
    if (this.config.deleteAfterIngest) {
      await fs.rm(from, { force: true });
      return undefined;
    }
    return this.moveInto(DONE_SUBDIR, name, nameWithBatchId(name, batchId));
  }

  private async reject(name: string, reason: string): Promise<string> {
    const stamp = new Date()
      .toISOString()
      .replace(/[-:]/g, '')
      .replace(/\.\d+Z$/, 'Z');
    const target = await this.moveInto(REJECTED_SUBDIR, name, nameWithStamp(name, stamp));
    await fs.writeFile(`${target}.reason.txt`, `${new Date().toISOString()} ${reason}\n`);
    return target;
  }

  /** Moves a file into a subdirectory under its own name, or `fallbackName` when that is taken. */
  private async moveInto(subdir: string, name: string, fallbackName: string): Promise<string> {
    const dir = path.join(this.config.dir, subdir);
    await fs.mkdir(dir, { recursive: true });
    const from = path.join(this.config.dir, name);
    for (const candidate of [name, fallbackName]) {
      const to = path.join(dir, candidate);
      // link + unlink: a rename that never overwrites (link fails with EEXIST).
      try {
        await fs.link(from, to);
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        if (code === 'EEXIST') continue;
        if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EOPNOTSUPP') throw error;
        // A filesystem without hard links: check, then rename (a small race, but no silent overwrite).
        if (
          await fs.stat(to).then(
            () => true,
            () => false,
          )
        )
          continue;
        await fs.rename(from, to);
        return to;
      }
      await fs.unlink(from);
      return to;
    }
    throw new Error(`cannot move ${from} into ${dir}: ${name} and ${fallbackName} both exist there`);
  }
}

function nameWithStamp(name: string, stamp: string): string {
  const ext = path.extname(name);
  return `${ext ? name.slice(0, -ext.length) : name}.${stamp}${ext}`;
}
