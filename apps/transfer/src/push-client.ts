import crypto from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '@audio/logger';
import { ProgressMeter, type TransferProgress } from '@audio/storage';
import { checkArchiveFile } from './archive-check.js';
import type {
  BeginUploadResponse,
  CompleteUploadResponse,
  PresignedPart,
  UploadStatus,
} from './presigned-uploads.js';
import {
  defaultPushStatePath,
  loadPushState,
  removePushState,
  savePushState,
  type PushState,
} from './push-state.js';

/** The push failed for a reason another attempt will not fix (token refused, file changed, …). */
export class PushError extends Error {
  constructor(
    message: string,
    readonly status?: number,
    readonly code?: string,
  ) {
    super(message);
    this.name = 'PushError';
  }
}

export interface PushOptions {
  /** The upload API's base URL, e.g. https://ingest.example.org */
  api: string;
  /** A client token of scope `upload` (`transfer clients add NAME --scope upload`). */
  token: string;
  file: string;
  /** Where the resume state lives; default under ~/.local/state (see defaultPushStatePath). */
  statePath?: string;
  /** Parts in flight at once (memory: about this × the part size). */
  concurrency?: number;
  /** Tries per part and per API request before giving up. */
  maxAttempts?: number;
  /** First retry delay; doubles per attempt up to 30 s. */
  retryBaseMs?: number;
  onProgress?: (progress: TransferProgress) => void;
  /** While the sha256 is computed, before anything is sent (minutes for a large archive). */
  onHashProgress?: (progress: TransferProgress) => void;
  logger?: Logger;
}

export interface PushResult extends CompleteUploadResponse {
  /** True when an earlier run's upload was continued. */
  resumed: boolean;
  /** Parts this run sent, and parts the server already had. */
  partsSent: number;
  partsSkipped: number;
}

const RETRY_STATUS = new Set([408, 429, 500, 502, 503, 504]);
const MAX_DELAY_MS = 30_000;
const HASH_CHUNK = 4 * 1024 * 1024;
/** /complete reads the whole archive back: a repeat meanwhile gets 409 in_progress; ask again until done. */
const COMPLETE_PATIENCE_MS = 6 * 3_600_000;

/**
 * Sends a local archive through the upload API with no S3 credentials: the API hands out presigned part
 * URLs, parts go straight to S3 in parallel (each retried on its own), a state file remembers the
 * upload so a killed run resumes (the server's ListParts says which parts it has: those are not sent
 * again), and /complete checks the sha256 before the batch starts by itself.
 */
export async function pushArchive(options: PushOptions): Promise<PushResult> {
  return new Pusher(options).run();
}

class Pusher {
  private readonly api: string;
  private readonly file: string;
  private readonly statePath: string;
  private readonly maxAttempts: number;
  private readonly retryBaseMs: number;
  private stateWrites: Promise<void> = Promise.resolve();

  constructor(private readonly options: PushOptions) {
    this.api = options.api.replace(/\/+$/, '');
    this.file = path.resolve(options.file);
    this.statePath = options.statePath ?? defaultPushStatePath(this.file);
    this.maxAttempts = options.maxAttempts ?? 8;
    this.retryBaseMs = options.retryBaseMs ?? 500;
  }

  async run(): Promise<PushResult> {
    const { size, mtimeMs } = await checkArchiveFile(this.file);
    const saved = await loadPushState(this.statePath);
    const same =
      saved?.api === this.api &&
      saved.file === this.file &&
      saved.sizeBytes === size &&
      saved.mtimeMs === mtimeMs;
    if (saved && !same)
      this.options.logger?.warn(
        { statePath: this.statePath, batchId: saved.batchId },
        'the state file is for another file, API or version of this file: starting a new upload',
      );
    if (saved && same) {
      const resumed = await this.resume(saved);
      if (resumed) return resumed;
    }
    return this.fresh(size, mtimeMs);
  }

  private async fresh(size: number, mtimeMs: number): Promise<PushResult> {
    this.options.logger?.info({ file: this.file, size }, 'computing the sha256');
    const sha256 = await this.hash(size);
    const plan = await this.request<BeginUploadResponse>('POST', '/uploads', {
      filename: path.basename(this.file),
      sizeBytes: size,
      sha256,
      multipart: true,
    });
    if (!plan.multipart) throw new PushError(`the API answered without a multipart plan for ${this.file}`);
    const state: PushState = {
      version: 1,
      api: this.api,
      file: this.file,
      sizeBytes: size,
      mtimeMs,
      sha256,
      batchId: plan.batchId,
      uploadId: plan.multipart.uploadId,
      partSize: plan.multipart.partSize,
      partCount: plan.multipart.partCount,
      parts: {},
    };
    await savePushState(this.statePath, state);
    this.options.logger?.info(
      { batchId: plan.batchId, parts: state.partCount, partSize: state.partSize },
      'upload begun',
    );
    return this.send(state, plan.multipart.parts, 0, false);
  }

  /** Continues a saved upload; undefined when the server no longer knows it (then a new one begins). */
  private async resume(state: PushState): Promise<PushResult | undefined> {
    const status = await this.request<UploadStatus>('GET', `/uploads/${state.batchId}`).catch((error) => {
      if (error instanceof PushError && error.status === 404) return undefined;
      throw error;
    });
    if (!status) {
      this.options.logger?.warn(
        { batchId: state.batchId },
        'the API no longer knows the saved upload (expired): starting a new one',
      );
      return undefined;
    }
    if (status.state === 'completed') {
      await removePushState(this.statePath);
      return this.verified(state, {
        batchId: status.batchId,
        archiveKey: status.archiveKey,
        sha256: status.sha256 ?? '',
        sizeBytes: status.sizeBytes,
        jobId: status.batchId,
        created: false,
        resumed: true,
        partsSent: 0,
        partsSkipped: state.partCount,
      });
    }
    // The server's parts count, not our notes: a part we sent may have been lost, or arrived unnoted.
    state.parts = {};
    for (const part of status.parts ?? [])
      if (part.size === partSize(state, part.partNumber)) state.parts[part.partNumber] = part.etag;
    const missing = allParts(state).filter((n) => !state.parts[n]);
    this.options.logger?.info(
      { batchId: state.batchId, have: state.partCount - missing.length, missing: missing.length },
      'resuming the upload',
    );
    const urls: PresignedPart[] = [];
    for (let i = 0; i < missing.length; i += 1000)
      urls.push(...(await this.freshUrls(state, missing.slice(i, i + 1000))));
    const skipped = state.partCount - missing.length;
    const already = allParts(state)
      .filter((n) => state.parts[n])
      .reduce((sum, n) => sum + partSize(state, n), 0);
    return this.send(state, urls, already, true, skipped);
  }

  private async send(
    state: PushState,
    urls: PresignedPart[],
    bytesDone: number,
    resumed: boolean,
    partsSkipped = 0,
  ): Promise<PushResult> {
    const meter = new ProgressMeter(state.sizeBytes, bytesDone, (p) => this.options.onProgress?.(p));
    this.options.onProgress?.(meter.snapshot());
    const queue = urls.filter((u) => !state.parts[u.partNumber]);
    const total = queue.length;
    const failed = new AbortController();
    const worker = async () => {
      for (let next = queue.shift(); next && !failed.signal.aborted; next = queue.shift()) {
        const etag = await this.sendPart(state, next, failed.signal);
        state.parts[next.partNumber] = etag;
        await this.saveState(state);
        meter.add(next.size);
      }
    };
    const workers = Array.from({ length: Math.max(1, this.options.concurrency ?? 4) }, () =>
      worker().catch((error: unknown) => {
        failed.abort(error);
        throw error;
      }),
    );
    const outcomes = await Promise.allSettled(workers);
    const rejected = outcomes.find((o): o is PromiseRejectedResult => o.status === 'rejected');
    if (rejected) throw rejected.reason;

    const result = await this.complete(state);
    await removePushState(this.statePath);
    return this.verified(state, { ...result, resumed, partsSent: total, partsSkipped });
  }

  private async sendPart(state: PushState, part: PresignedPart, signal: AbortSignal): Promise<string> {
    const handle = await fs.open(this.file, 'r');
    let body: Buffer;
    try {
      body = Buffer.alloc(part.size);
      const { bytesRead } = await handle.read(body, 0, part.size, (part.partNumber - 1) * state.partSize);
      if (bytesRead !== part.size) throw new PushError(`${this.file} is shorter than when the upload began`);
    } finally {
      await handle.close();
    }
    let url = part.url;
    for (let attempt = 1; ; attempt += 1) {
      signal.throwIfAborted();
      let problem: string;
      try {
        const response = await fetch(url, { method: 'PUT', body, signal });
        await response.arrayBuffer().catch(() => undefined);
        const etag = response.headers.get('etag')?.replace(/^"|"$/g, '');
        if (response.ok && etag) return etag;
        problem = `HTTP ${response.status}`;
        // 403: the URL expired (a long pause, a resumed run); anything but a retryable status is final.
        if (response.status === 403) url = (await this.freshUrls(state, [part.partNumber]))[0]!.url;
        else if (response.ok) problem = 'no ETag in the answer';
        else if (!RETRY_STATUS.has(response.status))
          throw new PushError(
            `part ${part.partNumber}: S3 answered HTTP ${response.status}`,
            response.status,
          );
      } catch (error) {
        if (error instanceof PushError || signal.aborted) throw error;
        problem = describe(error);
      }
      if (attempt >= this.maxAttempts)
        throw new PushError(`part ${part.partNumber} failed ${attempt} times; last: ${problem}`);
      this.options.logger?.warn({ part: part.partNumber, attempt, problem }, 'part failed; retrying');
      await sleep(this.delay(attempt), undefined, { signal });
    }
  }

  private async hash(size: number): Promise<string> {
    const digest = crypto.createHash('sha256');
    const meter = new ProgressMeter(size, 0, (p) => this.options.onHashProgress?.(p));
    const handle = await fs.open(this.file, 'r');
    try {
      const buffer = Buffer.allocUnsafe(HASH_CHUNK);
      for (let position = 0; ;) {
        const { bytesRead } = await handle.read(buffer, 0, buffer.length, position);
        if (bytesRead === 0) break;
        digest.update(buffer.subarray(0, bytesRead));
        position += bytesRead;
        meter.add(bytesRead);
      }
    } finally {
      await handle.close();
    }
    return digest.digest('hex');
  }

  private freshUrls(state: PushState, partNumbers: number[]): Promise<PresignedPart[]> {
    return this.request<{ parts: PresignedPart[] }>('POST', `/uploads/${state.batchId}/parts`, {
      partNumbers,
    }).then((r) => r.parts);
  }

  private complete(state: PushState): Promise<CompleteUploadResponse> {
    const parts = allParts(state).map((partNumber) => ({ partNumber, etag: state.parts[partNumber]! }));
    return this.request<CompleteUploadResponse>(
      'POST',
      `/uploads/${state.batchId}/complete`,
      { uploadId: state.uploadId, parts },
      { patientMs: COMPLETE_PATIENCE_MS },
    );
  }

  private verified(state: PushState, result: PushResult): PushResult {
    if (result.sha256 !== state.sha256 || result.sizeBytes !== state.sizeBytes)
      throw new PushError(
        `the server recorded sha256 ${result.sha256} (${result.sizeBytes} bytes) for batch ${result.batchId}, ` +
          `but ${this.file} has ${state.sha256} (${state.sizeBytes} bytes)`,
      );
    return result;
  }

  private saveState(state: PushState): Promise<void> {
    this.stateWrites = this.stateWrites.then(() => savePushState(this.statePath, state));
    return this.stateWrites;
  }

  /**
   * One API request, retried on dropped connections, 5xx and 429 (after its Retry-After). `patientMs`:
   * 409 in_progress is waited out that long (another /complete of ours is still reading back).
   */
  private async request<T>(
    method: string,
    route: string,
    body?: unknown,
    options: { patientMs?: number } = {},
  ): Promise<T> {
    const started = Date.now();
    for (let attempt = 1; ; attempt += 1) {
      let problem: string;
      let waitMs = this.delay(attempt);
      try {
        const response = await fetch(`${this.api}${route}`, {
          method,
          headers: {
            authorization: `Bearer ${this.options.token}`,
            ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
          },
          ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
        });
        const text = await response.text();
        const json = parseJson(text);
        if (response.ok) return json as T;
        const code = typeof json?.error === 'string' ? json.error : `HTTP ${response.status}`;
        const message = typeof json?.message === 'string' ? json.message : text.slice(0, 200);
        problem = `${method} ${route}: ${response.status} ${code}: ${message}`;
        const inProgress = response.status === 409 && code === 'in_progress' && options.patientMs;
        if (inProgress && Date.now() - started < options.patientMs!) {
          await sleep(Math.min(10_000, waitMs));
          attempt = 0;
          continue;
        }
        if (!RETRY_STATUS.has(response.status)) throw new PushError(problem, response.status, code);
        const retryAfter = Number(response.headers.get('retry-after'));
        if (response.status === 429 && retryAfter > 0) {
          waitMs = retryAfter * 1000;
          // Being told to wait is not a failure of ours: it does not use up an attempt.
          attempt -= 1;
        }
      } catch (error) {
        if (error instanceof PushError) throw error;
        problem = `${method} ${route}: ${describe(error)}`;
      }
      if (attempt >= this.maxAttempts) throw new PushError(`${problem} (after ${attempt} tries)`);
      this.options.logger?.warn({ problem, waitMs }, 'upload API request failed; retrying');
      await sleep(waitMs);
    }
  }

  private delay(attempt: number): number {
    const base = Math.min(MAX_DELAY_MS, this.retryBaseMs * 2 ** Math.max(0, attempt - 1));
    return base / 2 + Math.random() * (base / 2);
  }
}

function allParts(state: PushState): number[] {
  return Array.from({ length: state.partCount }, (_, i) => i + 1);
}

function partSize(state: PushState, partNumber: number): number {
  return Math.min(state.partSize, state.sizeBytes - (partNumber - 1) * state.partSize);
}

function parseJson(text: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(text);
    return value && typeof value === 'object' ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

function describe(error: unknown): string {
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  const message = error instanceof Error ? error.message : String(error);
  return cause?.code ? `${message} (${cause.code})` : message;
}
