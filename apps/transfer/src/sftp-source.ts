import fs from 'node:fs/promises';
import path from 'node:path';
import picomatch from 'picomatch';
import type { Logger } from '@audio/logger';
import { InvalidArchiveError } from './archive-check.js';
import { ArchiveConflictError, type ArchiveIngester, type IngestResult } from './archive-ingester.js';
import type { SftpConfig } from './config.js';
import { PolledSource } from './polling-loop.js';
import { batchIdForSourceFile } from './source-batch-id.js';
import { SFTP_FAILURE, SftpSession } from './sftp-session.js';
import { nameWithBatchId, StabilityTracker } from './stability-tracker.js';

const REGULAR_FILE = 0o100000;
const FILE_TYPE_MASK = 0o170000;

export interface SftpIngested extends IngestResult {
  remotePath: string;
  /** Where the remote file was renamed to once its upload was verified. */
  donePath: string;
}

export interface SftpPollResult {
  ingested: SftpIngested[];
  /** Matching files still being written (or too young to tell). */
  waiting: string[];
  /** Files that failed this time; they stay where they are and are tried again next poll. */
  failed: { remotePath: string; error: string }[];
  /**
   * Files that are not archives to ingest (not a tar, …). They stay on the remote host untouched, and are
   * not downloaded again until they change (size or mtime) or this process restarts.
   */
  refused: { remotePath: string; reason: string }[];
}

export interface SftpSourceOptions {
  ingester: ArchiveIngester;
  /** Local directory for downloads (a subdirectory `sftp/` is used); each file is removed after ingest. */
  tempDir: string;
  logger?: Logger;
  now?: () => number;
}

/**
 * Pulls archives from a directory on a remote host over SFTP (key authentication).
 *
 * A file is taken once it is complete: its mtime is at least SFTP_MIN_AGE old, or its size and mtime
 * have not changed across polls for that long (the second rule holds even when the remote clock is
 * ahead). It is downloaded, checked against the listed size and re-stat'ed (a file that changed while
 * being read is left for the next poll), then ingested under a batch id derived from its URL, size and
 * mtime. Only after the upload was verified and the unpack job queued is the remote file renamed into
 * the done directory; any failure before that leaves it in place, so it is tried again, and the derived
 * batch id makes a repeat land on the same S3 key, batch row and job (nothing lost, nothing twice).
 */
export class SftpSource extends PolledSource<SftpPollResult> {
  private readonly logger: Logger | undefined;
  private readonly matches: (name: string) => boolean;
  private readonly stability: StabilityTracker;
  private readonly tempDir: string;
  private sweptTemp = false;
  private warnedUnpinned = false;
  /** Versions (name, size, mtime) of remote files found not to be archives, with the reason. */
  private refused = new Map<string, string>();

  constructor(
    readonly config: SftpConfig,
    private readonly options: SftpSourceOptions,
  ) {
    const logger = options.logger?.child({ source: 'sftp', host: config.host, remoteDir: config.remoteDir });
    super(config.pollIntervalMs, logger);
    this.logger = logger;
    this.matches = picomatch(config.pattern, { dot: false });
    this.stability = new StabilityTracker(config.minAgeMs, 'age-or-unchanged', options.now);
    this.tempDir = path.join(options.tempDir, 'sftp');
  }

  /** The URL recorded as the batch's source. */
  sourceUrl(remotePath: string): string {
    return `sftp://${this.config.user}@${this.config.host}:${this.config.port}${remotePath}`;
  }

  /** One look at the remote directory; ingests every file that is complete, one after another. */
  protected async poll(signal: AbortSignal): Promise<SftpPollResult> {
    const result: SftpPollResult = { ingested: [], waiting: [], failed: [], refused: [] };
    await this.sweepTemp();
    const session = await SftpSession.connect(this.config);
    // A forced close cannot wait for a long download: ending the connection makes it fail at once.
    const onAbort = () => session.close();
    signal.addEventListener('abort', onAbort, { once: true });
    try {
      if (!this.config.hostFingerprint && !this.warnedUnpinned) {
        this.warnedUnpinned = true;
        this.logger?.warn(
          { hostFingerprint: session.hostFingerprint },
          'SFTP host key is not verified: set SFTP_HOST_FINGERPRINT to this fingerprint to pin it',
        );
      }
      const entries = await session.readdir(this.config.remoteDir);
      const files = entries
        .filter(
          (entry) => (entry.attrs.mode & FILE_TYPE_MASK) === REGULAR_FILE && this.matches(entry.filename),
        )
        .sort((a, b) => a.attrs.mtime - b.attrs.mtime || a.filename.localeCompare(b.filename));
      const ready = this.stability.update(
        files.map((entry) => ({
          name: entry.filename,
          size: entry.attrs.size,
          mtimeMs: entry.attrs.mtime * 1000,
        })),
      );
      const refused = new Map<string, string>();
      for (const entry of files) {
        const remotePath = path.posix.join(this.config.remoteDir, entry.filename);
        const version = `${entry.filename}\n${entry.attrs.size}\n${entry.attrs.mtime}`;
        const refusal = this.refused.get(version);
        if (refusal !== undefined) {
          refused.set(version, refusal);
          result.refused.push({ remotePath, reason: refusal });
          continue;
        }
        if (!ready.has(entry.filename)) {
          result.waiting.push(remotePath);
          continue;
        }
        signal.throwIfAborted();
        try {
          result.ingested.push(
            await this.ingestFile(session, entry.filename, entry.attrs.size, entry.attrs.mtime, signal),
          );
        } catch (error) {
          if (signal.aborted) throw error;
          if (error instanceof InvalidArchiveError || error instanceof ArchiveConflictError) {
            refused.set(version, error.message);
            result.refused.push({ remotePath, reason: error.message });
            this.logger?.error(
              { remotePath, reason: error.message },
              'SFTP file refused; it stays on the remote host and is skipped until it changes',
            );
            continue;
          }
          const message = error instanceof Error ? error.message : String(error);
          this.logger?.warn(
            { err: error, remotePath },
            'SFTP file not ingested; it stays and is tried again',
          );
          result.failed.push({ remotePath, error: message });
        }
      }
      this.refused = refused;
    } finally {
      signal.removeEventListener('abort', onAbort);
      session.close();
    }
    if (result.ingested.length > 0 || result.failed.length > 0)
      this.logger?.info(
        {
          ingested: result.ingested.length,
          waiting: result.waiting.length,
          failed: result.failed.length,
          refused: result.refused.length,
        },
        'SFTP poll done',
      );
    return result;
  }

  private async ingestFile(
    session: SftpSession,
    name: string,
    size: number,
    mtime: number,
    signal: AbortSignal,
  ): Promise<SftpIngested> {
    const remotePath = path.posix.join(this.config.remoteDir, name);
    const source = this.sourceUrl(remotePath);
    const batchId = batchIdForSourceFile({ url: source, size, mtimeMs: mtime * 1000 });
    const log = this.logger?.child({ remotePath, batchId });
    await fs.mkdir(this.tempDir, { recursive: true });
    const local = path.join(this.tempDir, `${batchId}.tar`);
    const partial = `${local}.partial`;
    try {
      log?.info({ size }, 'downloading');
      await session.download(remotePath, partial);
      const got = (await fs.stat(partial)).size;
      if (got !== size) throw new Error(`downloaded ${got} bytes of ${remotePath}, the listing said ${size}`);
      const now = await session.stat(remotePath);
      if (!now || now.size !== size || now.mtime !== mtime)
        throw new Error(`${remotePath} changed while it was downloaded; it is taken once it is stable`);
      // The remote mtime makes the local copy's identity stable: a later attempt at the same file
      // resumes a multipart upload that this one left unfinished.
      await fs.utimes(partial, mtime, mtime);
      await fs.rename(partial, local);
      signal.throwIfAborted();
      const ingested = await this.options.ingester.ingest(local, { source, batchId, signal });
      const donePath = await this.markDone(session, name, batchId);
      log?.info({ donePath, created: ingested.created }, 'SFTP file ingested and marked done');
      return { ...ingested, remotePath, donePath };
    } finally {
      await fs.rm(partial, { force: true });
      await fs.rm(local, { force: true });
    }
  }

  /** Renames the remote file into the done directory, never over an existing file. */
  private async markDone(session: SftpSession, name: string, batchId: string): Promise<string> {
    const from = path.posix.join(this.config.remoteDir, name);
    await session.ensureDir(this.config.doneDir);
    const plain = path.posix.join(this.config.doneDir, name);
    const tagged = path.posix.join(this.config.doneDir, nameWithBatchId(name, batchId));
    if (!(await session.stat(plain))) {
      try {
        await session.rename(from, plain);
        return plain;
      } catch (error) {
        // SFTP v3 rename refuses an existing target (SSH_FX_FAILURE): another file took the name meanwhile.
        if ((error as { code?: unknown }).code !== SFTP_FAILURE || !(await session.stat(plain))) throw error;
      }
    }
    await session.rename(from, tagged);
    return tagged;
  }

  /** Downloads a crashed run left behind. */
  private async sweepTemp(): Promise<void> {
    if (this.sweptTemp) return;
    this.sweptTemp = true;
    const names = await fs.readdir(this.tempDir).catch(() => [] as string[]);
    for (const name of names)
      if (name.endsWith('.tar') || name.endsWith('.partial'))
        await fs.rm(path.join(this.tempDir, name), { force: true });
  }
}
