import crypto from 'node:crypto';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '@audio/logger';
import { ChecksumMismatchError, MissingChecksumError } from './errors.js';
import { assertSafeKey } from './keys.js';
import type { ObjectStore, RangeResponse } from './object-store.js';
import { ProgressMeter, type TransferProgress } from './transfer-progress.js';
import { backoffDelay, isTransientStorageError } from './transient-errors.js';

export interface VerifiedDownloadOptions {
  /** The sha256 to expect; default: the object's `sha256` metadata. */
  expectedSha256?: string;
  /** Fail before reading when there is nothing to verify against (default true). */
  requireChecksum?: boolean;
  /** Failed attempts in a row for one range (no byte received in between) before giving up; default 5. */
  maxRetries?: number;
  /**
   * Ranged GETs in flight at once (default 1: one streamed GET, the least CPU per byte). Raise it where one
   * connection is slow (a remote cluster); ranges ahead of the one being handed on are held in memory,
   * up to (concurrency - 1) × chunkSize.
   */
  concurrency?: number;
  /** Bytes per ranged GET when concurrency > 1; default: the store's partSize. */
  chunkSize?: number;
  signal?: AbortSignal;
  onProgress?: (progress: TransferProgress) => void;
  logger?: Logger;
}

export interface VerifiedDownloadResult {
  size: number;
  sha256: string;
}

/**
 * A stream of the object's bytes for consumers that never touch disk (the unpack worker feeds it to tar).
 * A dropped or stalled connection is picked up where it broke with a Range GET. The stream fails at the
 * end, instead of ending, when the sha256 or the size differ from the object's metadata, so a consumer
 * must treat its output as provisional until the stream ends cleanly.
 */
export function openVerifiedStream(
  store: ObjectStore,
  key: string,
  options: VerifiedDownloadOptions = {},
): Readable & { result?: VerifiedDownloadResult } {
  assertSafeKey(key);
  const holder: { result?: VerifiedDownloadResult } = {};
  const stream = Readable.from(verifiedChunks(store, key, options, holder), { objectMode: false });
  return Object.defineProperty(stream, 'result', { get: () => holder.result });
}

/**
 * Downloads to `destPath` through a temporary file in the same directory, renamed into place only after
 * the sha256 matched; on any failure the partial file is removed and `destPath` is left untouched.
 */
export async function downloadVerified(
  store: ObjectStore,
  key: string,
  destPath: string,
  options: VerifiedDownloadOptions = {},
): Promise<VerifiedDownloadResult> {
  assertSafeKey(key);
  await fsp.mkdir(path.dirname(destPath), { recursive: true });
  const partial = `${destPath}.${crypto.randomBytes(4).toString('hex')}.partial`;
  const holder: { result?: VerifiedDownloadResult } = {};
  try {
    await pipeline(
      Readable.from(verifiedChunks(store, key, options, holder), { objectMode: false }),
      fs.createWriteStream(partial, { highWaterMark: 1024 * 1024 }),
      ...(options.signal ? [{ signal: options.signal }] : []),
    );
    if (!holder.result) throw new Error(`download of ${key} ended without a verified result`);
    await fsp.rename(partial, destPath);
    return holder.result;
  } catch (error) {
    await fsp.rm(partial, { force: true });
    throw error;
  }
}

interface ObjectVersion {
  total: number;
  etag: string | undefined;
  expected: string | undefined;
}

interface DownloadContext {
  store: ObjectStore;
  key: string;
  options: VerifiedDownloadOptions;
  logger: Logger | undefined;
  signal: AbortSignal;
  /** Learned from the first answer; every later answer must show the same ETag. */
  version?: ObjectVersion;
  meter?: ProgressMeter;
}

async function* verifiedChunks(
  store: ObjectStore,
  key: string,
  options: VerifiedDownloadOptions,
  holder: { result?: VerifiedDownloadResult },
): AsyncGenerator<Buffer> {
  const concurrency = options.concurrency ?? 1;
  const chunkSize = options.chunkSize ?? store.transfer.partSize;
  if (!Number.isInteger(concurrency) || concurrency < 1)
    throw new RangeError(`concurrency must be a whole number ≥ 1, got ${concurrency}`);
  if (!Number.isInteger(chunkSize) || chunkSize < 1)
    throw new RangeError(`chunkSize must be ≥ 1, got ${chunkSize}`);
  // Ends the GETs still in flight when the consumer stops early or a range fails for good.
  const stop = new AbortController();
  const signal = options.signal ? AbortSignal.any([options.signal, stop.signal]) : stop.signal;
  const context: DownloadContext = { store, key, options, logger: options.logger ?? store.logger, signal };
  const hash = crypto.createHash('sha256');
  let received = 0;
  try {
    // The socket's own chunks are handed on as they arrive: no copies, nothing held but look-ahead.
    const head = rangeChunks(context, 0, concurrency === 1 ? Infinity : chunkSize);
    const first = await head.next();
    const version = context.version!;
    const lookahead: Promise<Buffer[]>[] = [];
    let next = 1;
    const count = concurrency === 1 ? 1 : Math.max(1, Math.ceil(version.total / chunkSize));
    const prefetch = () => {
      while (next < count && lookahead.length < concurrency - 1) {
        const start = next * chunkSize;
        const fetching = collect(rangeChunks(context, start, Math.min(chunkSize, version.total - start)));
        fetching.catch(() => undefined); // awaited in order below; this only keeps it from counting as unhandled
        lookahead.push(fetching);
        next += 1;
      }
    };
    prefetch();
    const take = (chunk: Buffer) => {
      hash.update(chunk);
      received += chunk.length;
      return chunk;
    };
    if (!first.done) {
      yield take(first.value);
      for await (const chunk of { [Symbol.asyncIterator]: () => head }) yield take(chunk);
    }
    while (lookahead.length > 0) {
      const chunks = await lookahead.shift()!;
      prefetch();
      for (const chunk of chunks) yield take(chunk);
    }

    const sha256 = hash.digest('hex');
    if (received !== version.total)
      throw new ChecksumMismatchError(key, `${version.total} bytes`, `${received} bytes`);
    if (version.expected && sha256 !== version.expected.toLowerCase())
      throw new ChecksumMismatchError(key, `sha256 ${version.expected}`, `sha256 ${sha256}`);
    holder.result = { size: received, sha256 };
  } catch (error) {
    store.metrics?.error('download');
    throw error;
  } finally {
    stop.abort();
  }
}

async function collect(chunks: AsyncIterable<Buffer>): Promise<Buffer[]> {
  const all: Buffer[] = [];
  for await (const chunk of chunks) all.push(chunk);
  return all;
}

/**
 * The bytes [start, start + length) as they arrive (length may be Infinity: to the end), resuming with
 * a narrower Range when the connection drops or stalls. The first call (no context.version yet) learns
 * the object's size, ETag and sha256 from its answer, before it yields anything.
 */
async function* rangeChunks(context: DownloadContext, start: number, length: number): AsyncGenerator<Buffer> {
  const { store, key, options, signal } = context;
  const maxRetries = options.maxRetries ?? 5;
  let wanted = context.version ? Math.min(length, context.version.total - start) : undefined;
  let got = 0;
  let failures = 0;
  const retryOrThrow = async (error: unknown, what: string) => {
    failures += 1;
    if (!isTransientStorageError(error) || failures > maxRetries || signal.aborted) throw error;
    context.logger?.warn(
      { err: error, key, offset: start + got, attempt: failures },
      `${what}; resuming with Range`,
    );
    await sleep(backoffDelay(failures - 1), undefined, { signal });
  };

  while (wanted === undefined || got < wanted) {
    const end = Number.isFinite(length) ? start + (wanted ?? length) - 1 : undefined;
    let response: RangeResponse;
    try {
      response = await store.getRange(
        key,
        { start: start + got, ...(end !== undefined ? { end } : {}) },
        { signal },
      );
    } catch (error) {
      if (!context.version && (error as { name?: string }).name === 'InvalidRange') {
        // 416 for bytes=0-…: the object is empty.
        context.version = await emptyObjectVersion(context);
        return;
      }
      await retryOrThrow(error, 'GET failed');
      continue;
    }
    const body = response.body as Readable | undefined;
    const range = /^bytes (\d+)-(\d+)\/(\d+)$/.exec(response.contentRange ?? '');
    if (!range || !body) {
      body?.destroy();
      throw new Error(
        `GET ${key} with a Range header got no Content-Range (${response.contentRange}); cannot verify`,
      );
    }
    const etag = response.etag;
    if (!context.version) {
      const version = {
        total: Number(range[3]),
        etag,
        expected: options.expectedSha256 ?? response.metadata.sha256,
      };
      if (!version.expected && options.requireChecksum !== false) {
        body.destroy();
        throw new MissingChecksumError(key);
      }
      context.version = version;
      if (options.onProgress) context.meter = new ProgressMeter(version.total, 0, options.onProgress);
    } else if (
      (context.version.etag && etag && etag !== context.version.etag) ||
      Number(range[1]) !== start + got
    ) {
      body.destroy();
      throw new Error(
        `${key} changed during the download (ETag ${context.version.etag} → ${etag}, range ${range[0]})`,
      );
    }
    const limit = (wanted ??= Math.min(length, context.version.total - start));
    try {
      for await (const chunk of body as AsyncIterable<Buffer>) {
        if (got + chunk.length > limit)
          throw new Error(`GET ${key} sent more bytes than the range asked for`);
        got += chunk.length;
        failures = 0;
        store.metrics?.bytes('down', chunk.length);
        context.meter?.add(chunk.length);
        yield chunk;
      }
    } catch (error) {
      body.destroy();
      await retryOrThrow(error, 'download dropped');
      continue;
    }
    if (got < limit) {
      await retryOrThrow(
        Object.assign(new Error('response ended early'), { code: 'ECONNRESET' }),
        'download cut short',
      );
    }
  }
}

async function emptyObjectVersion(context: DownloadContext): Promise<ObjectVersion> {
  const head = await context.store.head(context.key);
  if (!head) throw new Error(`${context.key} disappeared during the download`);
  if (head.size !== 0)
    throw new Error(`GET ${context.key} was refused a Range within its ${head.size} bytes`);
  const expected = context.options.expectedSha256 ?? head.metadata.sha256;
  if (!expected && context.options.requireChecksum !== false) throw new MissingChecksumError(context.key);
  if (context.options.onProgress) context.meter = new ProgressMeter(0, 0, context.options.onProgress);
  return { total: 0, etag: head.etag, expected };
}
