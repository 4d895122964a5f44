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

export interface PresignedUploadsOptions {
  store: ObjectStore;
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

  constructor(private readonly options: PresignedUploadsOptions) {
    this.singlePutLimit = Math.min(options.singlePutLimit ?? MAX_SINGLE_PUT_SIZE, MAX_SINGLE_PUT_SIZE);
  }

  async begin(body: unknown): Promise<BeginUploadResponse> {
    const request = parseRequest(beginUploadRequest, body);
    const { store, urlExpirySeconds } = this.options;
    if (request.sizeBytes > this.options.maxBytes)
      throw new UploadRequestError(
        413,
        'too_large',
        `sizeBytes ${request.sizeBytes} is above the limit of ${this.options.maxBytes} bytes (UPLOAD_MAX_BYTES)`,
        'sizeBytes',
      );
    const single = request.sizeBytes <= this.singlePutLimit;
    if (!single && !request.sha256)
      throw new UploadRequestError(
        400,
        'sha256_required',
        `sha256 is required for files above ${this.singlePutLimit} bytes: it becomes the archive's metadata ` +
          'when the multipart upload is created',
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
      createdAt: new Date().toISOString(),
    };
    const base = { batchId, archiveKey: key, expiresAt, completePath: `/uploads/${batchId}/complete` };

    if (single) {
      const metadata = request.sha256 ? { sha256: request.sha256 } : undefined;
      // Signed as headers: the client must send them as given.
      const url = await store.presignPut(key, urlExpirySeconds, {
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
    const parts: PresignedPart[] = [];
    for (let partNumber = 1; partNumber <= plan.count; partNumber += 1) {
      const url = await store.presignUploadPart(key, uploadId, partNumber, urlExpirySeconds);
      const size = Math.min(plan.partSize, request.sizeBytes - (partNumber - 1) * plan.partSize);
      parts.push({ partNumber, url, size });
    }
    await this.options.pending.save({
      ...pending,
      multipart: { uploadId, partSize: plan.partSize, partCount: plan.count },
    });
    return {
      ...base,
      mode: 'multipart',
      multipart: { uploadId, partSize: plan.partSize, partCount: plan.count, parts },
    };
  }

  async complete(batchId: string, body: unknown): Promise<CompleteUploadResponse> {
    try {
      assertBatchId(batchId);
    } catch (error) {
      throw new UploadRequestError(400, 'invalid_request', (error as Error).message, 'batchId');
    }
    const request = parseRequest(completeUploadRequest, body ?? {});
    const done = await this.alreadyCompleted(batchId);
    if (done) return done;
    const pending = await this.options.pending.get(batchId);
    if (!pending)
      throw new UploadRequestError(
        404,
        'unknown_upload',
        `no pending upload for batch ${batchId}: it never existed or expired (UPLOAD_PENDING_TTL)`,
        'batchId',
      );
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
      return await this.finish(pending, request);
    } finally {
      await release();
    }
  }

  private async finish(
    pending: PendingUpload,
    request: z.output<typeof completeUploadRequest>,
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
      source: `upload-api:${pending.filename}`,
    });
    await this.options.pending.remove(pending.batchId);
    this.options.logger?.info(
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

  private async alreadyCompleted(batchId: string): Promise<CompleteUploadResponse | undefined> {
    const batch = await this.options.batches.get(batchId);
    if (!batch) return undefined;
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

function parseRequest<S extends z.ZodType>(schema: S, body: unknown): z.output<S> {
  const result = schema.safeParse(body);
  if (result.success) return result.data;
  const issue = result.error.issues[0]!;
  const field = issue.path.join('.') || '(body)';
  throw new UploadRequestError(400, 'invalid_request', `${field}: ${issue.message}`, field);
}
