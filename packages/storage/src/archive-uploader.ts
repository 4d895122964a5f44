import { EventEmitter } from 'node:events';
import fs from 'node:fs/promises';
import type { Logger } from '@audio/logger';
import { SourceChangedError } from './errors.js';
import { digestFile, md5Base64, md5Base64ToHex, readExactly } from './file-digest.js';
import { assertSafeKey } from './keys.js';
import { checkMetadata, isNoSuchUpload, isNotImplemented, type ObjectStore } from './object-store.js';
import { MAX_SINGLE_PUT_SIZE, MIN_PART_SIZE } from './storage-config.js';
import { ProgressMeter, type TransferProgress } from './transfer-progress.js';
import { isTransientStorageError, retryTransient } from './transient-errors.js';
import {
  readUploadState,
  stateMatches,
  uploadStatePath,
  UploadStateFile,
  type UploadIdentity,
  type UploadState,
} from './upload-state.js';

const MiB = 1024 * 1024;
/** S3's hard limit; Swift's default is 1000, which maxParts follows. */
const S3_MAX_PARTS = 10_000;

export interface ArchiveUploaderOptions {
  /** Files above this go up in parts (default: the store's multipartThreshold). */
  threshold?: number;
  /** Smallest part size (default: the store's partSize); at least 5 MiB. */
  partSize?: number;
  /** Most parts per upload (default: the store's maxParts, 1000 for Swift). */
  maxParts?: number;
  /** Parts in flight at once (default: the store's partConcurrency). */
  concurrency?: number;
  /** Where state files live; default: next to the source file as `<file>.upload.json`. */
  stateDir?: string;
  logger?: Logger;
  /** Attempts per part above the SDK's own retries; each attempt re-reads the part from disk. */
  partAttempts?: number;
  /** Minimum time between two 'progress' events. */
  progressIntervalMs?: number;
}

export interface ArchiveUploadOptions {
  metadata?: Record<string, string>;
  contentType?: string;
  signal?: AbortSignal;
}

export interface ArchiveUploadResult {
  key: string;
  size: number;
  sha256: string;
  etag: string;
  /** 1 for a single PUT. */
  parts: number;
  /** Parts a restarted upload found finished and did not send again. */
  resumedParts: number;
}

interface PartPlan {
  partSize: number;
  count: number;
}

/** Part size = max(chunk, ceil(size / maxParts)), rounded up to whole MiB. */
export function planParts(size: number, chunk: number, maxParts: number): PartPlan {
  const needed = Math.ceil(size / maxParts);
  const partSize = Math.ceil(Math.max(chunk, needed) / MiB) * MiB;
  return { partSize, count: Math.max(1, Math.ceil(size / partSize)) };
}

/**
 * Uploads archives: one PUT up to the threshold, a resumable multipart upload above it.
 *
 * The sha256 of the file goes into the object's `sha256` metadata. S3 takes metadata only when a
 * multipart upload is created, so the file is hashed in a streaming pass first (it is kept in the state
 * file, so a resumed upload does not hash again). Every part carries Content-MD5. After each finished
 * part the state file records its ETag; a restarted upload asks the server (ListParts) which parts it has
 * and sends only the others. Transient failures keep the upload and its state for a later resume;
 * anything else (a changed file, a refused part) aborts the multipart upload.
 *
 * Emits 'progress' ({ bytes, total, mbPerSecond, etaSeconds }) as parts finish.
 */
export class ArchiveUploader extends EventEmitter<{ progress: [TransferProgress] }> {
  private readonly threshold: number;
  private readonly partSize: number;
  private readonly maxParts: number;
  private readonly concurrency: number;
  private readonly partAttempts: number;
  private readonly logger: Logger | undefined;

  constructor(
    private readonly store: ObjectStore,
    private readonly options: ArchiveUploaderOptions = {},
  ) {
    super();
    this.threshold = Math.min(options.threshold ?? store.transfer.multipartThreshold, MAX_SINGLE_PUT_SIZE);
    this.partSize = options.partSize ?? store.transfer.partSize;
    this.maxParts = options.maxParts ?? store.transfer.maxParts;
    this.concurrency = options.concurrency ?? store.transfer.partConcurrency;
    this.partAttempts = options.partAttempts ?? 3;
    this.logger = options.logger ?? store.logger;
    if (this.partSize < MIN_PART_SIZE)
      throw new RangeError(`partSize must be at least 5 MiB, got ${this.partSize}`);
    if (!Number.isInteger(this.maxParts) || this.maxParts < 1 || this.maxParts > S3_MAX_PARTS)
      throw new RangeError(`maxParts must be 1 to ${S3_MAX_PARTS}, got ${this.maxParts}`);
    if (!Number.isInteger(this.concurrency) || this.concurrency < 1)
      throw new RangeError(`concurrency must be a whole number ≥ 1, got ${this.concurrency}`);
  }

  async upload(
    localPath: string,
    key: string,
    options: ArchiveUploadOptions = {},
  ): Promise<ArchiveUploadResult> {
    assertSafeKey(key);
    checkMetadata(options.metadata ?? {});
    const stat = await fs.stat(localPath);
    if (!stat.isFile()) throw new Error(`${localPath} is not a regular file`);
    if (stat.size <= this.threshold) return this.uploadSingle(localPath, key, stat.size, options);
    return this.uploadMultipart(localPath, key, { size: stat.size, mtimeMs: stat.mtimeMs }, options, true);
  }

  private async uploadSingle(
    localPath: string,
    key: string,
    size: number,
    options: ArchiveUploadOptions,
  ): Promise<ArchiveUploadResult> {
    const meter = new ProgressMeter(size, 0, (p) => this.emit('progress', p), 0);
    const put = await this.store.putFile(localPath, key, {
      ...(options.metadata ? { metadata: options.metadata } : {}),
      ...(options.contentType ? { contentType: options.contentType } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
    });
    meter.add(size);
    return { key, size: put.size, sha256: put.sha256, etag: put.etag, parts: 1, resumedParts: 0 };
  }

  private async uploadMultipart(
    localPath: string,
    key: string,
    file: { size: number; mtimeMs: number },
    options: ArchiveUploadOptions,
    mayRestart: boolean,
  ): Promise<ArchiveUploadResult> {
    const { bucket } = this.store;
    const identity: UploadIdentity = { bucket, key, ...file };
    const plan = planParts(file.size, this.partSize, this.maxParts);
    if (plan.count > S3_MAX_PARTS) throw new RangeError(`${localPath} would need ${plan.count} parts`);
    const stateFile = new UploadStateFile(uploadStatePath(localPath, identity, this.options.stateDir));
    const signal = options.signal;

    let state = await readUploadState(stateFile.file);
    if (state && !stateMatches(state, identity, plan.partSize)) {
      this.logger?.info(
        { key, state: stateFile.file },
        'upload state is for another file version; starting over',
      );
      if (state.bucket === bucket) await this.abortQuietly(state.key, state.uploadId);
      await stateFile.remove();
      state = undefined;
    }

    const done = new Map<number, string>();
    if (state) {
      const resumed = await this.reconcile(localPath, state, plan, done);
      if (resumed === 'gone') {
        const finished = await this.alreadyCompleted(key, state);
        if (finished) {
          await stateFile.remove();
          return {
            key,
            size: file.size,
            sha256: state.sha256,
            etag: finished,
            parts: plan.count,
            resumedParts: plan.count,
          };
        }
        this.logger?.info(
          { key, uploadId: state.uploadId },
          'the saved multipart upload no longer exists; starting over',
        );
        await stateFile.remove();
        state = undefined;
        done.clear();
      }
    }

    if (!state) {
      this.logger?.info({ key, size: file.size }, 'hashing the file before the multipart upload');
      const { sha256, size } = await digestFile(localPath, signal ? { signal } : {});
      await this.assertUnchanged(localPath, file, size);
      const uploadId = await this.store.createMultipartUpload(key, {
        ...(options.contentType ? { contentType: options.contentType } : {}),
        metadata: { ...options.metadata, sha256 },
        ...(signal ? { signal } : {}),
      });
      state = {
        version: 1,
        ...identity,
        partSize: plan.partSize,
        uploadId,
        sha256,
        createdAt: new Date().toISOString(),
        parts: {},
      };
      await stateFile.save(state);
    }

    const upload = state;
    const resumedParts = done.size;
    this.logger?.info(
      {
        key,
        size: file.size,
        parts: plan.count,
        partSize: plan.partSize,
        resumedParts,
        uploadId: upload.uploadId,
      },
      resumedParts > 0 ? 'resuming multipart upload' : 'starting multipart upload',
    );
    const partLength = (n: number) => Math.min(plan.partSize, file.size - (n - 1) * plan.partSize);
    let doneBytes = 0;
    for (const n of done.keys()) doneBytes += partLength(n);
    const meter = new ProgressMeter(
      file.size,
      doneBytes,
      (p) => this.emit('progress', p),
      this.options.progressIntervalMs,
    );

    try {
      const todo: number[] = [];
      for (let n = 1; n <= plan.count; n += 1) if (!done.has(n)) todo.push(n);
      const handle = await fs.open(localPath, 'r');
      try {
        await runPool(todo, this.concurrency, async (n) => {
          const length = partLength(n);
          const etag = await retryTransient(
            async () => {
              // Read from disk on every attempt: nothing of a failed attempt is reused.
              const body = await readExactly(handle, (n - 1) * plan.partSize, length);
              const md5 = md5Base64(body);
              const etag = await this.store.uploadPart(
                key,
                upload.uploadId,
                { partNumber: n, body, md5 },
                signal ? { signal } : {},
              );
              return etag ?? md5Base64ToHex(md5);
            },
            {
              attempts: this.partAttempts,
              ...(signal ? { signal } : {}),
              onRetry: (error, attempt) =>
                this.logger?.warn(
                  { err: error, key, part: n, attempt },
                  'part failed after SDK retries; sending it again',
                ),
            },
          );
          done.set(n, etag);
          upload.parts[String(n)] = etag;
          await stateFile.save(upload);
          meter.add(length);
        });
      } finally {
        await handle.close();
      }
      await this.assertUnchanged(localPath, file);

      const parts = [...done.entries()].map(([partNumber, etag]) => ({ partNumber, etag }));
      let etag: string;
      try {
        etag =
          (await this.store.completeMultipartUpload(key, upload.uploadId, parts, signal ? { signal } : {})) ??
          '';
      } catch (error) {
        // A retried Complete whose first attempt succeeded (its response was lost) finds no upload.
        const finished = isNoSuchUpload(error) ? await this.alreadyCompleted(key, upload) : undefined;
        if (finished === undefined) throw error;
        etag = finished;
      }
      const head = await this.store.head(key);
      if (!head || head.size !== file.size)
        throw new Error(`${key} has ${head?.size ?? 'no'} bytes after completing, expected ${file.size}`);
      await stateFile.remove();
      this.logger?.info(
        { key, size: file.size, mbPerSecond: meter.snapshot().mbPerSecond },
        'multipart upload done',
      );
      return { key, size: file.size, sha256: upload.sha256, etag, parts: plan.count, resumedParts };
    } catch (error) {
      if (isNoSuchUpload(error) && mayRestart) {
        // The upload vanished under us (a janitor aborted it): start once more from nothing.
        this.logger?.warn({ key, uploadId: upload.uploadId }, 'multipart upload vanished; starting over');
        await stateFile.remove();
        return this.uploadMultipart(localPath, key, file, options, false);
      }
      if (signal?.aborted || isTransientStorageError(error)) {
        this.logger?.warn(
          { err: error, key, state: stateFile.file },
          'upload interrupted; it can resume from the state file',
        );
      } else {
        this.logger?.error(
          { err: error, key, uploadId: upload.uploadId },
          'upload failed; aborting the multipart upload',
        );
        await this.abortQuietly(key, upload.uploadId);
        await stateFile.remove();
      }
      throw error;
    }
  }

  /**
   * Fills `done` with the parts the server already has. Trusts ListParts where the server has it: a part
   * in the state file but not on the server is sent again, a part on the server but not in the state file
   * (the process died before saving it) is kept when its ETag equals the local part's MD5.
   */
  private async reconcile(
    localPath: string,
    state: UploadState,
    plan: PartPlan,
    done: Map<number, string>,
  ): Promise<'ok' | 'gone'> {
    let listed: Map<number, { etag: string; size: number }>;
    try {
      listed = new Map(
        (await this.store.listParts(state.key, state.uploadId)).map((p) => [p.partNumber, p] as const),
      );
    } catch (error) {
      if (isNoSuchUpload(error)) return 'gone';
      if (!isNotImplemented(error)) throw error;
      this.logger?.info({ key: state.key }, 'server has no ListParts; trusting the state file');
      for (const [n, etag] of Object.entries(state.parts)) done.set(Number(n), etag);
      return 'ok';
    }
    const partLength = (n: number) => Math.min(plan.partSize, state.size - (n - 1) * plan.partSize);
    const handle = await fs.open(localPath, 'r');
    try {
      for (const [n, part] of listed) {
        if (n < 1 || n > plan.count || part.size !== partLength(n)) continue;
        if (state.parts[String(n)] === part.etag) {
          done.set(n, part.etag);
          continue;
        }
        const body = await readExactly(handle, (n - 1) * plan.partSize, partLength(n));
        if (md5Base64ToHex(md5Base64(body)) === part.etag) {
          done.set(n, part.etag);
          state.parts[String(n)] = part.etag;
        }
      }
    } finally {
      await handle.close();
    }
    for (const n of Object.keys(state.parts)) if (!done.has(Number(n))) delete state.parts[n];
    return 'ok';
  }

  /** The ETag of `key` when it already holds this upload's file (same size and sha256), else undefined. */
  private async alreadyCompleted(key: string, state: UploadState): Promise<string | undefined> {
    const head = await this.store.head(key);
    if (head && head.size === state.size && head.metadata.sha256 === state.sha256) return head.etag ?? '';
    return undefined;
  }

  private async assertUnchanged(
    localPath: string,
    file: { size: number; mtimeMs: number },
    hashedSize?: number,
  ): Promise<void> {
    const now = await fs.stat(localPath);
    if (hashedSize !== undefined && hashedSize !== file.size)
      throw new SourceChangedError(localPath, `read ${hashedSize} bytes, expected ${file.size}`);
    if (now.size !== file.size || now.mtimeMs !== file.mtimeMs)
      throw new SourceChangedError(
        localPath,
        `size/mtime ${now.size}/${now.mtimeMs} instead of ${file.size}/${file.mtimeMs}`,
      );
  }

  private async abortQuietly(key: string, uploadId: string): Promise<void> {
    try {
      await this.store.abortMultipartUpload(key, uploadId);
    } catch (error) {
      if (!isNoSuchUpload(error))
        this.logger?.warn(
          { err: error, key, uploadId },
          'could not abort the multipart upload; the janitor will',
        );
    }
  }
}

/** Runs `work` over the items with at most `limit` at once; the first failure stops new items starting. */
async function runPool<T>(items: T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  let failure: { error: unknown } | undefined;
  const worker = async () => {
    while (!failure && next < items.length) {
      const item = items[next]!;
      next += 1;
      try {
        await work(item);
      } catch (error) {
        failure ??= { error };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  if (failure) throw failure.error;
}
