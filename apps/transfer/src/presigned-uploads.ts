import { z } from 'zod';
import type { BatchRepository } from '@audio/db';
import type { Logger } from '@audio/logger';
import { assertBatchId, newBatchId } from '@audio/queues';
import {
  archiveKey,
  ChecksumMismatchError,
  MAX_SINGLE_PUT_SIZE,
  openVerifiedStream,
  planParts,
  type ObjectStore,
} from '@audio/storage';
import { hasTarMagic } from './archive-check.js';
import type { BatchRegistrar } from './batch-registrar.js';
import type { PendingUpload, PendingUploads } from './pending-uploads.js';

/** A request the upload API refuses: HTTP status, a stable code, the field at fault and why. */
export class UploadRequestError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly field?: string,
  ) {
    super(message);
    this.name = 'UploadRequestError';
  }
}

// eslint-disable-next-line no-control-regex
const UNSAFE_NAME = /[/\\\u0000-\u001f\u007f]/;
const sha256Hex = z
  .string()
  .regex(/^[0-9a-fA-F]{64}$/, 'must be 64 hex digits (the sha256 of the file)')
  .transform((v) => v.toLowerCase());

export const beginUploadRequest = z.object({
  filename: z
    .string('must be a string')
    .trim()
    .min(1, 'must not be empty')
    .max(255, 'must be at most 255 characters')
    .refine((v) => !UNSAFE_NAME.test(v), 'must be a file name, without a path or control characters'),
  sizeBytes: z.number('must be a number').int('must be a whole number of bytes').positive('must be above 0'),
  sha256: sha256Hex.optional(),
  /** A multipart plan even for a file a single PUT could take: parts go in parallel and can resume. */
  multipart: z.boolean('must be true or false').optional(),
});
export type BeginUploadRequest = z.input<typeof beginUploadRequest>;

export const completeUploadRequest = z.object({
  uploadId: z.string().min(1, 'must not be empty').optional(),
  parts: z
    .array(
      z.object({
        partNumber: z.number().int().min(1).max(10_000),
        etag: z.string().min(1, 'must not be empty'),
      }),
    )
    .min(1, 'must list at least one part')
    .optional(),
});
export type CompleteUploadRequest = z.input<typeof completeUploadRequest>;

export const partUrlsRequest = z.object({
  partNumbers: z
    .array(z.number('must be numbers').int().min(1).max(10_000), 'must be a list of part numbers')
    .min(1, 'must list at least one part')
    .max(10_000),
});

/** Who asks: an upload-scope client sees its own uploads only; a download-scope client (operators) all. */
export interface UploadCaller {
  name: string;
  scope: 'upload' | 'download';
}

export interface PresignedPart {
  partNumber: number;
  url: string;
  /** Bytes this part must carry: partSize, the last part the rest. */
  size: number;
}

export interface BeginUploadResponse {
  batchId: string;
  archiveKey: string;
  /** When the URLs stop working (ISO). */
  expiresAt: string;
  /** POST here (with the bearer token) once the bytes are up. */
  completePath: string;
  mode: 'single' | 'multipart';
  /** mode single: PUT the whole file to url, with these headers (they are signed). */
  single?: { method: 'PUT'; url: string; headers: Record<string, string> };
  /** mode multipart: PUT each part to its URL; send back each response's ETag (or nothing: we list them). */
  multipart?: { uploadId: string; partSize: number; partCount: number; parts: PresignedPart[] };
}

export interface CompleteUploadResponse {
  batchId: string;
  archiveKey: string;
  sha256: string;
  sizeBytes: number;
  jobId: string;
  /** False when this upload had been completed before (a retried request). */
  created: boolean;
}

/** GET /uploads/:batchId: what the server has of an upload, from S3 itself (ListParts / HEAD). */
export interface UploadStatus {
  batchId: string;
  /** `pending`: waiting for parts or /complete; `completed`: checked, batch row and unpack job exist. */
  state: 'pending' | 'completed';
  archiveKey: string;
  filename?: string;
  client?: string;
  sizeBytes: number;
  sha256?: string;
  mode?: 'single' | 'multipart';
  partSize?: number;
  partCount?: number;
  /** Pending uploads: parts S3 has (a single PUT: 1 once it arrived). */
  partsReceived?: number;
  bytesReceived: number;
  /** Multipart: the parts S3 has, with their ETags and sizes. */
  parts?: { partNumber: number; etag: string; size: number }[];
  createdAt?: string;
  /** Completed: the batch's status in the pipeline. */
  batchStatus?: string;
}

export interface ArchiveDownload {
  batchId: string;
  archiveKey: string;
  sizeBytes: number;
  sha256: string;
  url: string;
  expiresAt: string;
}

export interface PresignedUploadsOptions {
  store: ObjectStore;
  /**
   * Signs the URLs clients get, when they reach S3 at another address than this process does (a public
   * name in front of an internal Swift: UPLOAD_S3_PUBLIC_ENDPOINT). Default: `store`.
   */
  presigner?: ObjectStore;
  pending: PendingUploads;
  batches: BatchRepository;
  registrar: BatchRegistrar;
  urlExpirySeconds: number;
  maxBytes: number;
  /** Files up to this size get one presigned PUT (S3's limit, 5 GiB); larger ones a multipart plan. */
  singlePutLimit?: number;
  logger?: Logger;
}

/**
 * Uploads that clients send straight to S3 with presigned URLs, so large archives never pass through
 * this process. begin() hands out a new batch id and URLs; complete() checks what arrived (size, tar
 * header, sha256 by reading the object once) before the batch row and unpack job exist. A refused object
 * is deleted. Both sha256 and the object's `sha256` metadata end up set, as for every other source.
 */
export class PresignedUploads {
  private readonly singlePutLimit: number;
  private readonly presigner: ObjectStore;

  constructor(private readonly options: PresignedUploadsOptions) {
    this.presigner = options.presigner ?? options.store;
    this.singlePutLimit = Math.min(options.singlePutLimit ?? MAX_SINGLE_PUT_SIZE, MAX_SINGLE_PUT_SIZE);
  }

  async begin(body: unknown, caller?: UploadCaller): Promise<BeginUploadResponse> {
    const request = parseRequest(beginUploadRequest, body);
    const { store, urlExpirySeconds } = this.options;
    if (request.sizeBytes > this.options.maxBytes)
      throw new UploadRequestError(
        413,
        'too_large',
        `sizeBytes ${request.sizeBytes} is above the limit of ${this.options.maxBytes} bytes (UPLOAD_MAX_BYTES)`,
        'sizeBytes',
      );
    const single = request.sizeBytes <= this.singlePutLimit && !request.multipart;
    if (!single && !request.sha256)
      throw new UploadRequestError(
        400,
        'sha256_required',
        `sha256 is required for multipart uploads (files above ${this.singlePutLimit} bytes): it becomes ` +
          "the archive's metadata when the multipart upload is created",
        'sha256',
      );
    const batchId = newBatchId();
    const key = archiveKey(batchId);
    const expiresAt = new Date(Date.now() + urlExpirySeconds * 1000).toISOString();
    const pending: PendingUpload = {
      batchId,
      archiveKey: key,
      filename: request.filename,
      sizeBytes: request.sizeBytes,
      ...(request.sha256 ? { sha256: request.sha256 } : {}),
      ...(caller ? { client: caller.name } : {}),
      createdAt: new Date().toISOString(),
    };
    const base = { batchId, archiveKey: key, expiresAt, completePath: `/uploads/${batchId}/complete` };

    if (single) {
      const metadata = request.sha256 ? { sha256: request.sha256 } : undefined;
      // Signed as headers: the client must send them as given.
      const url = await this.presigner.presignPut(key, urlExpirySeconds, {
        contentLength: request.sizeBytes,
        ...(metadata ? { metadata } : {}),
      });
      await this.options.pending.save(pending);
      return {
        ...base,
        mode: 'single',
        single: {
          method: 'PUT',
          url,
          headers: {
            'content-length': String(request.sizeBytes),
            ...(metadata ? { 'x-amz-meta-sha256': metadata.sha256 } : {}),
          },
        },
      };
    }

    const plan = planParts(request.sizeBytes, store.transfer.partSize, store.transfer.maxParts);
    const uploadId = await store.createMultipartUpload(key, {
      contentType: 'application/x-tar',
      metadata: { sha256: request.sha256!, 'batch-id': batchId },
    });
    const multipart = { uploadId, partSize: plan.partSize, partCount: plan.count };
    const parts = await this.presignParts(
      { ...pending, multipart },
      Array.from({ length: plan.count }, (_, i) => i + 1),
    );
    await this.options.pending.save({ ...pending, multipart });
    return {
      ...base,
      mode: 'multipart',
      multipart: { uploadId, partSize: plan.partSize, partCount: plan.count, parts },
    };
  }

  /** Fresh presigned URLs for some parts of a multipart upload (a resumed client's old ones expired). */
  async partUrls(
    batchId: string,
    body: unknown,
    caller?: UploadCaller,
  ): Promise<{ batchId: string; expiresAt: string; parts: PresignedPart[] }> {
    checkBatchId(batchId);
    const request = parseRequest(partUrlsRequest, body ?? {});
    const pending = await this.pendingFor(batchId, caller);
    if (!pending.multipart)
      throw new UploadRequestError(
        409,
        'not_multipart',
        `upload ${batchId} is a single PUT; its URL came with POST /uploads`,
      );
    const beyond = request.partNumbers.find((n) => n > pending.multipart!.partCount);
    if (beyond !== undefined)
      throw new UploadRequestError(
        400,
        'invalid_request',
        `partNumbers: ${beyond} is beyond the last part (${pending.multipart.partCount})`,
        'partNumbers',
      );
    const expiresAt = new Date(Date.now() + this.options.urlExpirySeconds * 1000).toISOString();
    return { batchId, expiresAt, parts: await this.presignParts(pending, request.partNumbers) };
  }

  /** What S3 has of an upload (ListParts for multipart, HEAD for a single PUT), or the completed batch. */
  async status(batchId: string, caller?: UploadCaller): Promise<UploadStatus> {
    checkBatchId(batchId);
    const batch = await this.options.batches.get(batchId);
    if (batch?.source.startsWith(UPLOAD_SOURCE)) {
      const source = parseUploadSource(batch.source);
      if (!mayAccess(caller, source.client)) throw unknownUpload(batchId);
      return {
        batchId,
        state: 'completed',
        archiveKey: batch.archiveKey,
        sizeBytes: Number(batch.sizeBytes),
        sha256: batch.sha256,
        bytesReceived: Number(batch.sizeBytes),
        ...source,
        batchStatus: batch.status,
      };
    }
    const pending = await this.pendingFor(batchId, caller);
    const base = {
      batchId,
      state: 'pending' as const,
      archiveKey: pending.archiveKey,
      filename: pending.filename,
      ...(pending.client ? { client: pending.client } : {}),
      sizeBytes: pending.sizeBytes,
      ...(pending.sha256 ? { sha256: pending.sha256 } : {}),
      createdAt: pending.createdAt,
    };
    if (!pending.multipart) {
      const head = await this.options.store.head(pending.archiveKey);
      return {
        ...base,
        mode: 'single',
        partsReceived: head ? 1 : 0,
        bytesReceived: head?.size ?? 0,
      };
    }
    const parts = await this.options.store
      .listParts(pending.archiveKey, pending.multipart.uploadId)
      .catch(async (error: unknown) => {
        // Completed by a /complete whose batch row is not written yet, or aborted: no parts to list.
        if ((error as { name?: string }).name === 'NoSuchUpload') return [];
        throw error;
      });
    parts.sort((a, b) => a.partNumber - b.partNumber);
    return {
      ...base,
      mode: 'multipart',
      partSize: pending.multipart.partSize,
      partCount: pending.multipart.partCount,
      partsReceived: parts.length,
      bytesReceived: parts.reduce((sum, p) => sum + Math.max(0, p.size), 0),
      parts,
    };
  }

  /** A presigned GET of a completed upload's archive (operators: scope `download`). */
  async download(batchId: string): Promise<ArchiveDownload> {
    checkBatchId(batchId);
    const batch = await this.options.batches.get(batchId);
    if (!batch) throw unknownUpload(batchId);
    const { urlExpirySeconds } = this.options;
    return {
      batchId,
      archiveKey: batch.archiveKey,
      sizeBytes: Number(batch.sizeBytes),
      sha256: batch.sha256,
      url: await this.presigner.presignGet(batch.archiveKey, urlExpirySeconds),
      expiresAt: new Date(Date.now() + urlExpirySeconds * 1000).toISOString(),
    };
  }

  async complete(
    batchId: string,
    body: unknown,
    caller?: UploadCaller,
    logger = this.options.logger,
  ): Promise<CompleteUploadResponse> {
    checkBatchId(batchId);
    const request = parseRequest(completeUploadRequest, body ?? {});
    const done = await this.alreadyCompleted(batchId, caller);
    if (done) return done;
    const pending = await this.pendingFor(batchId, caller);
    // Reading a large object back takes a while: hold the lock for about as long as that can take.
    const lockSeconds = Math.max(120, Math.ceil(pending.sizeBytes / 20e6));
    const release = await this.options.pending.lock(batchId, lockSeconds);
    if (!release)
      throw new UploadRequestError(
        409,
        'in_progress',
        `upload ${batchId} is being completed by another request`,
      );
    try {
      return await this.finish(pending, request, logger);
    } finally {
      await release();
    }
  }

  private async pendingFor(batchId: string, caller: UploadCaller | undefined): Promise<PendingUpload> {
    const pending = await this.options.pending.get(batchId);
    // Someone else's upload looks like no upload at all: ids are not secret, uploads are.
    if (!pending || !mayAccess(caller, pending.client)) throw unknownUpload(batchId);
    return pending;
  }

  private async presignParts(pending: PendingUpload, partNumbers: number[]): Promise<PresignedPart[]> {
    const { partSize, uploadId } = pending.multipart!;
    return Promise.all(
      partNumbers.map(async (partNumber) => ({
        partNumber,
        url: await this.presigner.presignUploadPart(
          pending.archiveKey,
          uploadId,
          partNumber,
          this.options.urlExpirySeconds,
        ),
        size: Math.min(partSize, pending.sizeBytes - (partNumber - 1) * partSize),
      })),
    );
  }

  private async finish(
    pending: PendingUpload,
    request: z.output<typeof completeUploadRequest>,
    logger: Logger | undefined,
  ): Promise<CompleteUploadResponse> {
    const { store } = this.options;
    const key = pending.archiveKey;
    if (pending.multipart) await this.completeMultipart(pending, pending.multipart, request);

    const head = await store.head(key);
    if (!head)
      throw new UploadRequestError(
        409,
        'not_uploaded',
        `nothing at ${key} yet: PUT the file to the presigned URL before completing`,
      );
    // A refused single PUT may be sent again while its URL lasts; a completed multipart upload cannot.
    const refuse = async (status: number, code: string, message: string, field?: string) => {
      await store.delete(key);
      if (pending.multipart) await this.options.pending.remove(pending.batchId);
      return new UploadRequestError(status, code, message, field);
    };
    if (head.size !== pending.sizeBytes)
      throw await refuse(
        422,
        'size_mismatch',
        `the uploaded object has ${head.size} bytes, sizeBytes said ${pending.sizeBytes}; it was deleted`,
        'sizeBytes',
      );

    const { sha256, header } = await this.readBack(key, pending.sha256).catch(async (error: unknown) => {
      if (!(error instanceof ChecksumMismatchError)) throw error;
      throw await refuse(
        422,
        'sha256_mismatch',
        `the uploaded object does not match the declared sha256 (${error.message}); it was deleted`,
        'sha256',
      );
    });
    if (!hasTarMagic(header))
      throw await refuse(
        422,
        'not_a_tar',
        `${pending.filename} is not a tar archive (no "ustar" at byte 257); the object was deleted`,
        'filename',
      );
    if (head.metadata.sha256 !== sha256) await this.setSha256Metadata(key, pending.batchId, sha256);

    const registration = await this.options.registrar.register({
      batchId: pending.batchId,
      archiveKey: key,
      sha256,
      sizeBytes: pending.sizeBytes,
      source: `${UPLOAD_SOURCE}${pending.client ? `${pending.client}/` : ''}${pending.filename}`,
    });
    await this.options.pending.remove(pending.batchId);
    logger?.info(
      { batchId: pending.batchId, key, size: pending.sizeBytes, filename: pending.filename },
      'presigned upload completed',
    );
    return {
      batchId: pending.batchId,
      archiveKey: key,
      sha256,
      sizeBytes: pending.sizeBytes,
      jobId: registration.jobId,
      created: registration.created,
    };
  }

  private async completeMultipart(
    pending: PendingUpload,
    plan: NonNullable<PendingUpload['multipart']>,
    request: z.output<typeof completeUploadRequest>,
  ): Promise<void> {
    const { store } = this.options;
    if (request.uploadId !== undefined && request.uploadId !== plan.uploadId)
      throw new UploadRequestError(
        400,
        'invalid_request',
        `uploadId does not belong to batch ${pending.batchId}`,
        'uploadId',
      );
    if (await store.exists(pending.archiveKey)) return; // completed by an earlier call whose answer was lost
    const parts = request.parts ?? (await store.listParts(pending.archiveKey, plan.uploadId));
    const numbers = parts.map((p) => p.partNumber).sort((a, b) => a - b);
    const complete = numbers.length === plan.partCount && numbers.every((n, i) => n === i + 1);
    if (!complete)
      throw new UploadRequestError(
        400,
        'missing_parts',
        `expected parts 1 to ${plan.partCount}, got ${numbers.length === 0 ? 'none' : numbers.join(', ')}`,
        'parts',
      );
    try {
      await store.completeMultipartUpload(pending.archiveKey, plan.uploadId, parts);
    } catch (error) {
      const name = (error as { name?: string }).name ?? '';
      if (['InvalidPart', 'InvalidPartOrder', 'EntityTooSmall'].includes(name))
        throw new UploadRequestError(
          400,
          'invalid_parts',
          `S3 refused the parts: ${name}: ${(error as Error).message}`,
          'parts',
        );
      if (name === 'NoSuchUpload')
        throw new UploadRequestError(
          409,
          'upload_gone',
          `the multipart upload of ${pending.batchId} no longer exists`,
        );
      throw error;
    }
  }

  /** Reads the object once: its sha256 (checked against `expected` when given) and its first block. */
  private async readBack(
    key: string,
    expected: string | undefined,
  ): Promise<{ sha256: string; header: Buffer }> {
    const stream = openVerifiedStream(this.options.store, key, {
      requireChecksum: false,
      ...(expected ? { expectedSha256: expected } : {}),
    });
    const head: Buffer[] = [];
    let headBytes = 0;
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      if (headBytes < 512) {
        head.push(chunk.subarray(0, 512 - headBytes));
        headBytes += Math.min(chunk.length, 512 - headBytes);
      }
    }
    if (!stream.result) throw new Error(`reading ${key} back ended without a result`);
    return { sha256: stream.result.sha256, header: Buffer.concat(head) };
  }

  /** Objects from a single PUT without a declared sha256 get it afterwards: copied onto themselves. */
  private async setSha256Metadata(key: string, batchId: string, sha256: string): Promise<void> {
    await this.options.store.copy(key, key, {
      replace: { metadata: { sha256, 'batch-id': batchId }, contentType: 'application/x-tar' },
    });
  }

  private async alreadyCompleted(
    batchId: string,
    caller: UploadCaller | undefined,
  ): Promise<CompleteUploadResponse | undefined> {
    const batch = await this.options.batches.get(batchId);
    if (!batch) return undefined;
    if (!batch.source.startsWith(UPLOAD_SOURCE) || !mayAccess(caller, parseUploadSource(batch.source).client))
      throw unknownUpload(batchId);
    return {
      batchId,
      archiveKey: batch.archiveKey,
      sha256: batch.sha256,
      sizeBytes: Number(batch.sizeBytes),
      jobId: batchId,
      created: false,
    };
  }
}

/** Batches from this API record `upload-api:{client}/{filename}` (or `upload-api:{filename}`) as source. */
const UPLOAD_SOURCE = 'upload-api:';

function parseUploadSource(source: string): { client?: string; filename: string } {
  const rest = source.slice(UPLOAD_SOURCE.length);
  const slash = rest.indexOf('/');
  return slash < 0 ? { filename: rest } : { client: rest.slice(0, slash), filename: rest.slice(slash + 1) };
}

function mayAccess(caller: UploadCaller | undefined, owner: string | undefined): boolean {
  return !caller || caller.scope === 'download' || caller.name === owner;
}

function unknownUpload(batchId: string): UploadRequestError {
  return new UploadRequestError(
    404,
    'unknown_upload',
    `no upload ${batchId} for this client: it never existed, expired (UPLOAD_PENDING_TTL) or is another client's`,
    'batchId',
  );
}

function checkBatchId(batchId: string): void {
  try {
    assertBatchId(batchId);
  } catch (error) {
    throw new UploadRequestError(400, 'invalid_request', (error as Error).message, 'batchId');
  }
}

function parseRequest<S extends z.ZodType>(schema: S, body: unknown): z.output<S> {
  const result = schema.safeParse(body);
  if (result.success) return result.data;
  const issue = result.error.issues[0]!;
  const field = issue.path.join('.') || '(body)';
  throw new UploadRequestError(400, 'invalid_request', `${field}: ${issue.message}`, field);
}
