import fs from 'node:fs';
import fsp from 'node:fs/promises';
import crypto from 'node:crypto';
import type { Readable } from 'node:stream';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  ListPartsCommand,
  PutObjectCommand,
  UploadPartCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import type { Logger } from '@audio/logger';
import { digestFile, unquoteEtag } from './file-digest.js';
import { InvalidKeyError, ObjectExistsError } from './errors.js';
import { assertSafeKey, assertSafePrefix } from './keys.js';
import { createS3Client } from './s3-client.js';
import { DEFAULT_TRANSFER_SETTINGS, type StorageConfig } from './storage-config.js';
import { retryTransient } from './transient-errors.js';

/** Counters for the dashboard; this package has no prom-client, the dashboard wires these to it. */
export interface StorageMetrics {
  bytes(direction: 'up' | 'down', n: number): void;
  error(operation: string): void;
}

/** How archives go up; ArchiveUploader options override these per uploader. */
export interface TransferSettings {
  multipartThreshold: number;
  partSize: number;
  maxParts: number;
  partConcurrency: number;
}

export interface ObjectStoreOptions {
  logger?: Logger;
  metrics?: StorageMetrics;
  transfer?: Partial<TransferSettings>;
}

export interface ObjectHead {
  size: number;
  etag?: string;
  metadata: Record<string, string>;
  lastModified?: Date;
  contentType?: string;
}

export interface PutResult {
  etag: string;
  /** Hex sha256 of the bytes sent, also stored as the object's `sha256` metadata. */
  sha256: string;
  size: number;
}

export interface PutFileOptions {
  contentType?: string;
  metadata?: Record<string, string>;
  signal?: AbortSignal;
  /**
   * Create-only: sends `If-None-Match: *`, so a server that supports conditional PUTs (AWS, MinIO)
   * refuses to replace an existing object (ObjectExistsError). Swift 2.30's s3api answers every
   * conditional PUT with 501 NotImplemented (isNotImplemented): callers fall back to check-then-write.
   */
  createOnly?: boolean;
}

export interface ListedObject {
  key: string;
  size: number;
  lastModified?: Date;
}

export interface ListPage {
  keys: ListedObject[];
  /** Pass as continuationToken for the next page; absent on the last page. */
  nextToken?: string;
}

/** A part of a multipart upload, as the server lists it (ETag without quotes). */
export interface UploadedPart {
  partNumber: number;
  etag: string;
  size: number;
}

/** The answer to a ranged GET: the body and what it says about the object. */
export interface RangeResponse {
  body: Readable;
  /** `bytes start-end/total`. */
  contentRange: string | undefined;
  etag: string | undefined;
  metadata: Record<string, string>;
}

export interface AbortedUpload {
  key: string;
  uploadId: string;
  initiated?: Date;
}

/** Files up to this size are read into memory for a single PUT (the SDK can then retry the body). */
const IN_MEMORY_PUT_LIMIT = 64 * 1024 * 1024;
/** S3's and Swift's limit per DeleteObjects request. */
const DELETE_BATCH = 1000;
/** SigV4's longest presigned URL lifetime. */
const MAX_PRESIGN_SECONDS = 7 * 24 * 3600;
const METADATA_NAME = /^[a-z0-9][a-z0-9_-]*$/;
const METADATA_VALUE = /^[\x20-\x7e]*$/;

/**
 * One bucket, and the only holder of an S3 client: everything the pipeline does with S3 (single and
 * multipart uploads, presigned URLs, ranged reads, copies, listings, the janitor) goes through these
 * methods. Every method validates its keys first (InvalidKeyError), so a bad key never reaches S3.
 */
export class ObjectStore {
  readonly transfer: TransferSettings;
  readonly logger: Logger | undefined;
  readonly metrics: StorageMetrics | undefined;
  readonly #client: S3Client;

  constructor(
    client: S3Client,
    readonly bucket: string,
    options: ObjectStoreOptions = {},
  ) {
    this.#client = client;
    this.logger = options.logger;
    this.metrics = options.metrics;
    this.transfer = { ...DEFAULT_TRANSFER_SETTINGS, ...options.transfer };
  }

  /** A store with its own client; its transfer settings come from the config. */
  static fromConfig(config: StorageConfig, options: Omit<ObjectStoreOptions, 'transfer'> = {}): ObjectStore {
    return new ObjectStore(createS3Client(config), config.bucket, {
      ...options,
      transfer: {
        multipartThreshold: config.multipartThreshold,
        partSize: config.partSize,
        maxParts: config.maxParts,
        partConcurrency: config.partConcurrency,
      },
    });
  }

  /** Closes the client's sockets. */
  destroy(): void {
    this.#client.destroy();
  }

  /** Runs one S3 operation, counting its failure in the metrics. */
  async track<T>(operation: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (error) {
      this.metrics?.error(operation);
      throw error;
    }
  }

  async head(key: string): Promise<ObjectHead | undefined> {
    assertSafeKey(key);
    try {
      const out = await this.track('head', () =>
        this.#client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: key })),
      );
      return {
        size: out.ContentLength ?? 0,
        ...(out.ETag ? { etag: unquoteEtag(out.ETag) } : {}),
        metadata: out.Metadata ?? {},
        ...(out.LastModified ? { lastModified: out.LastModified } : {}),
        ...(out.ContentType ? { contentType: out.ContentType } : {}),
      };
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
  }

  async exists(key: string): Promise<boolean> {
    return (await this.head(key)) !== undefined;
  }

  /**
   * One PUT with Content-MD5 (Swift verifies it) and the sha256 as `sha256` metadata. Small files go as a
   * buffer the SDK can resend; larger ones are hashed first, then streamed, and re-opened on a retry.
   */
  async putFile(localPath: string, key: string, options: PutFileOptions = {}): Promise<PutResult> {
    assertSafeKey(key);
    const metadata = checkMetadata(options.metadata ?? {});
    const { size } = await fsp.stat(localPath);
    const put = (body: PutObjectCommand['input']['Body'], md5: string, sha256: string) =>
      this.#send(key, body, { size, md5, sha256, metadata }, options);
    return this.track('put', async () => {
      if (size <= IN_MEMORY_PUT_LIMIT) {
        const data = await fsp.readFile(localPath);
        if (data.length !== size) throw new Error(`${localPath} changed size while being read`);
        return this.#putBuffer(key, data, metadata, options);
      }
      const digest = await digestFile(localPath, { md5: true, signal: options.signal });
      if (digest.size !== size) throw new Error(`${localPath} changed size while being hashed`);
      const out = await retryTransient(
        () => put(fs.createReadStream(localPath, { end: size - 1 }), digest.md5!, digest.sha256),
        {
          attempts: 4,
          ...(options.signal ? { signal: options.signal } : {}),
          onRetry: (error) => this.logger?.warn({ err: error, key }, 'PUT failed, sending the file again'),
        },
      );
      this.metrics?.bytes('up', size);
      return { etag: unquoteEtag(out.ETag) ?? '', sha256: digest.sha256, size };
    });
  }

  /** Bytes in memory (a manifest, a small document) in one PUT, like putFile. */
  async putBytes(key: string, data: Buffer, options: PutFileOptions = {}): Promise<PutResult> {
    assertSafeKey(key);
    const metadata = checkMetadata(options.metadata ?? {});
    return this.track('put', () => this.#putBuffer(key, data, metadata, options));
  }

  async #putBuffer(
    key: string,
    data: Buffer,
    metadata: Record<string, string>,
    options: PutFileOptions,
  ): Promise<PutResult> {
    const sha256 = crypto.createHash('sha256').update(data).digest('hex');
    const md5 = crypto.createHash('md5').update(data).digest('base64');
    const out = await this.#send(key, data, { size: data.length, md5, sha256, metadata }, options);
    this.metrics?.bytes('up', data.length);
    return { etag: unquoteEtag(out.ETag) ?? '', sha256, size: data.length };
  }

  async #send(
    key: string,
    body: PutObjectCommand['input']['Body'],
    sent: { size: number; md5: string; sha256: string; metadata: Record<string, string> },
    options: PutFileOptions,
  ) {
    try {
      return await this.#client.send(
        new PutObjectCommand({
          Bucket: this.bucket,
          Key: key,
          Body: body,
          ContentLength: sent.size,
          ContentMD5: sent.md5,
          ...(options.contentType ? { ContentType: options.contentType } : {}),
          ...(options.createOnly ? { IfNoneMatch: '*' } : {}),
          Metadata: { ...sent.metadata, sha256: sent.sha256 },
        }),
        { abortSignal: options.signal },
      );
    } catch (error) {
      if (options.createOnly && isPreconditionFailed(error)) throw new ObjectExistsError(key);
      throw error;
    }
  }

  /** An Opus file for `processed/…`, served as audio/ogg to the review UI. */
  async uploadOpus(localPath: string, key: string): Promise<PutResult> {
    return this.putFile(localPath, key, { contentType: 'audio/ogg' });
  }

  /**
   * Server-side copy (Swift and AWS copy at most 5 GiB in one request). The metadata is copied, or, with
   * `replace`, set anew (with its content type): an object copied onto itself this way gets new metadata.
   */
  async copy(
    fromKey: string,
    toKey: string,
    options: { replace?: { metadata: Record<string, string>; contentType?: string } } = {},
  ): Promise<{ etag?: string }> {
    assertSafeKey(fromKey);
    assertSafeKey(toKey);
    const replace = options.replace;
    if (replace) checkMetadata(replace.metadata);
    const out = await this.track('copy', () =>
      this.#client.send(
        new CopyObjectCommand({
          Bucket: this.bucket,
          Key: toKey,
          CopySource: `${this.bucket}/${fromKey.split('/').map(encodeURIComponent).join('/')}`,
          ...(replace
            ? {
                MetadataDirective: 'REPLACE',
                Metadata: replace.metadata,
                ...(replace.contentType ? { ContentType: replace.contentType } : {}),
              }
            : { MetadataDirective: 'COPY' }),
        }),
      ),
    );
    const etag = unquoteEtag(out.CopyObjectResult?.ETag);
    return etag ? { etag } : {};
  }

  /** Deletes one object; deleting a missing key succeeds (S3 semantics), so this is idempotent. */
  async delete(key: string): Promise<void> {
    assertSafeKey(key);
    await this.track('delete', () =>
      this.#client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: key })),
    );
  }

  /**
   * Deletes many objects, 1000 per request; missing keys count as deleted. Throws after trying all
   * batches when the server refused some keys, naming them. Returns how many keys were deleted.
   */
  async deleteMany(keys: Iterable<string>): Promise<number> {
    const all = [...keys];
    all.forEach((key) => assertSafeKey(key));
    const failed: string[] = [];
    let deleted = 0;
    for (let start = 0; start < all.length; start += DELETE_BATCH) {
      const batch = all.slice(start, start + DELETE_BATCH);
      const out = await this.track('deleteMany', () =>
        this.#client.send(
          new DeleteObjectsCommand({
            Bucket: this.bucket,
            Delete: { Objects: batch.map((Key) => ({ Key })), Quiet: true },
          }),
        ),
      );
      const errors = out.Errors ?? [];
      for (const error of errors) failed.push(`${error.Key} (${error.Code}: ${error.Message})`);
      deleted += batch.length - errors.length;
    }
    if (failed.length > 0) {
      this.metrics?.error('deleteMany');
      throw new Error(
        `could not delete ${failed.length} of ${all.length} objects: ${failed.slice(0, 5).join(', ')}` +
          `${failed.length > 5 ? ', …' : ''}`,
      );
    }
    return deleted;
  }

  /** One page of keys under a prefix, in key order. */
  async list(options: { prefix: string; continuationToken?: string; limit?: number }): Promise<ListPage> {
    assertSafePrefix(options.prefix);
    const limit = options.limit ?? 1000;
    if (!Number.isInteger(limit) || limit < 1 || limit > 1000)
      throw new RangeError(`list limit must be a whole number from 1 to 1000, got ${limit}`);
    const out = await this.track('list', () =>
      this.#client.send(
        new ListObjectsV2Command({
          Bucket: this.bucket,
          Prefix: options.prefix,
          MaxKeys: limit,
          ...(options.continuationToken ? { ContinuationToken: options.continuationToken } : {}),
        }),
      ),
    );
    const keys = (out.Contents ?? []).map((item) => ({
      key: item.Key ?? '',
      size: item.Size ?? 0,
      ...(item.LastModified ? { lastModified: item.LastModified } : {}),
    }));
    return out.IsTruncated && out.NextContinuationToken
      ? { keys, nextToken: out.NextContinuationToken }
      : { keys };
  }

  /** Every key under a prefix, page by page. */
  async *listAll(prefix: string): AsyncGenerator<ListedObject> {
    let continuationToken: string | undefined;
    do {
      const page: ListPage = await this.list({ prefix, ...(continuationToken ? { continuationToken } : {}) });
      yield* page.keys;
      continuationToken = page.nextToken;
    } while (continuationToken);
  }

  /** A URL that GETs the object without credentials until it expires. */
  async presignGet(key: string, expiresInSeconds: number): Promise<string> {
    assertSafeKey(key);
    checkExpiry(expiresInSeconds);
    return getSignedUrl(this.#client, new GetObjectCommand({ Bucket: this.bucket, Key: key }), {
      expiresIn: expiresInSeconds,
    });
  }

  /**
   * A URL that PUTs one object without credentials until it expires. What is given here is signed, and
   * the uploader must send exactly that: `contentType` as Content-Type, `contentLength` as
   * Content-Length, each `metadata` entry as an `x-amz-meta-*` header (kept a header, not hoisted into
   * the query, so the object gets it).
   */
  async presignPut(
    key: string,
    expiresInSeconds: number,
    options: { contentType?: string; contentLength?: number; metadata?: Record<string, string> } = {},
  ): Promise<string> {
    assertSafeKey(key);
    checkExpiry(expiresInSeconds);
    const metadata = options.metadata ? checkMetadata(options.metadata) : undefined;
    const signable = new Set<string>();
    if (options.contentType) signable.add('content-type');
    if (options.contentLength !== undefined) signable.add('content-length');
    return getSignedUrl(
      this.#client,
      new PutObjectCommand({
        Bucket: this.bucket,
        Key: key,
        ...(options.contentType ? { ContentType: options.contentType } : {}),
        ...(options.contentLength !== undefined ? { ContentLength: options.contentLength } : {}),
        ...(metadata ? { Metadata: metadata } : {}),
      }),
      {
        expiresIn: expiresInSeconds,
        ...(signable.size > 0 ? { signableHeaders: signable } : {}),
        ...(metadata
          ? { unhoistableHeaders: new Set(Object.keys(metadata).map((name) => `x-amz-meta-${name}`)) }
          : {}),
      },
    );
  }

  /** A URL that PUTs one part of a multipart upload without credentials until it expires. */
  async presignUploadPart(
    key: string,
    uploadId: string,
    partNumber: number,
    expiresInSeconds: number,
  ): Promise<string> {
    assertSafeKey(key);
    checkExpiry(expiresInSeconds);
    return getSignedUrl(
      this.#client,
      new UploadPartCommand({ Bucket: this.bucket, Key: key, UploadId: uploadId, PartNumber: partNumber }),
      { expiresIn: expiresInSeconds },
    );
  }

  /**
   * Starts a multipart upload; returns its id. S3 takes an object's metadata only here, not when the
   * upload completes. Without a content type Swift stores `application/xml`, hence the default.
   */
  async createMultipartUpload(
    key: string,
    options: { contentType?: string; metadata?: Record<string, string>; signal?: AbortSignal } = {},
  ): Promise<string> {
    assertSafeKey(key);
    const metadata = checkMetadata(options.metadata ?? {});
    const out = await this.track('createMultipartUpload', () =>
      this.#client.send(
        new CreateMultipartUploadCommand({
          Bucket: this.bucket,
          Key: key,
          ContentType: options.contentType ?? 'application/octet-stream',
          Metadata: metadata,
        }),
        { abortSignal: options.signal },
      ),
    );
    if (!out.UploadId) throw new Error(`the S3 server returned no upload id for ${key}`);
    return out.UploadId;
  }

  /** Sends one part with its Content-MD5 (base64); returns its ETag without quotes, when the server gave one. */
  async uploadPart(
    key: string,
    uploadId: string,
    part: { partNumber: number; body: Buffer; md5: string },
    options: { signal?: AbortSignal } = {},
  ): Promise<string | undefined> {
    assertSafeKey(key);
    const out = await this.track('uploadPart', () =>
      this.#client.send(
        new UploadPartCommand({
          Bucket: this.bucket,
          Key: key,
          UploadId: uploadId,
          PartNumber: part.partNumber,
          Body: part.body,
          ContentLength: part.body.length,
          ContentMD5: part.md5,
        }),
        { abortSignal: options.signal },
      ),
    );
    this.metrics?.bytes('up', part.body.length);
    return unquoteEtag(out.ETag);
  }

  /** The parts the server has of a multipart upload, page by page (NoSuchUpload when it is gone). */
  async listParts(key: string, uploadId: string): Promise<UploadedPart[]> {
    assertSafeKey(key);
    const parts: UploadedPart[] = [];
    let marker: string | undefined;
    for (;;) {
      const out = await this.track('listParts', () =>
        this.#client.send(
          new ListPartsCommand({
            Bucket: this.bucket,
            Key: key,
            UploadId: uploadId,
            ...(marker ? { PartNumberMarker: marker } : {}),
          }),
        ),
      );
      for (const part of out.Parts ?? []) {
        const etag = unquoteEtag(part.ETag);
        if (part.PartNumber && etag) parts.push({ partNumber: part.PartNumber, etag, size: part.Size ?? -1 });
      }
      if (!out.IsTruncated || !out.NextPartNumberMarker) return parts;
      marker = out.NextPartNumberMarker;
    }
  }

  /** Completes a multipart upload from its parts (in any order); returns the object's ETag. */
  async completeMultipartUpload(
    key: string,
    uploadId: string,
    parts: { partNumber: number; etag: string }[],
    options: { signal?: AbortSignal } = {},
  ): Promise<string | undefined> {
    assertSafeKey(key);
    const sorted = [...parts].sort((a, b) => a.partNumber - b.partNumber);
    const out = await this.track('completeMultipartUpload', () =>
      this.#client.send(
        new CompleteMultipartUploadCommand({
          Bucket: this.bucket,
          Key: key,
          UploadId: uploadId,
          MultipartUpload: {
            Parts: sorted.map((p) => ({ PartNumber: p.partNumber, ETag: quoteEtag(p.etag) })),
          },
        }),
        { abortSignal: options.signal },
      ),
    );
    return unquoteEtag(out.ETag);
  }

  /** Aborts a multipart upload; its parts are freed (NoSuchUpload when it is gone already). */
  async abortMultipartUpload(key: string, uploadId: string): Promise<void> {
    assertSafeKey(key);
    await this.track('abortMultipartUpload', () =>
      this.#client.send(
        new AbortMultipartUploadCommand({ Bucket: this.bucket, Key: key, UploadId: uploadId }),
      ),
    );
  }

  /**
   * One GET of `Range: bytes=start-end` (end omitted: to the end of the object). Not counted in the
   * metrics here: the verified download counts the bytes as they arrive and the failures once.
   */
  async getRange(
    key: string,
    range: { start: number; end?: number },
    options: { signal?: AbortSignal } = {},
  ): Promise<RangeResponse> {
    assertSafeKey(key);
    const out = await this.#client.send(
      new GetObjectCommand({
        Bucket: this.bucket,
        Key: key,
        Range: `bytes=${range.start}-${range.end ?? ''}`,
      }),
      { abortSignal: options.signal },
    );
    return {
      body: out.Body as Readable,
      contentRange: out.ContentRange,
      etag: unquoteEtag(out.ETag),
      metadata: out.Metadata ?? {},
    };
  }

  /**
   * Janitor for multipart uploads started more than `olderThanMs` ago (to the second) and never completed (a crashed
   * uploader that never resumed). Swift has no lifecycle rules to do this. Returns what was aborted;
   * servers without ListMultipartUploads (s3rver) yield an empty list and a warning.
   */
  async abortStaleMultipartUploads(
    olderThanMs: number,
    options: { prefix?: string } = {},
  ): Promise<AbortedUpload[]> {
    if (options.prefix !== undefined) assertSafePrefix(options.prefix);
    const cutoff = Date.now() - olderThanMs;
    const aborted: AbortedUpload[] = [];
    let keyMarker: string | undefined;
    let uploadIdMarker: string | undefined;
    for (;;) {
      let out;
      try {
        out = await this.track('listMultipartUploads', () =>
          this.#client.send(
            new ListMultipartUploadsCommand({
              Bucket: this.bucket,
              ...(options.prefix ? { Prefix: options.prefix } : {}),
              ...(keyMarker ? { KeyMarker: keyMarker } : {}),
              ...(uploadIdMarker ? { UploadIdMarker: uploadIdMarker } : {}),
            }),
          ),
        );
      } catch (error) {
        if (isNotImplemented(error)) {
          this.logger?.warn('this S3 server cannot list multipart uploads; nothing aborted');
          return aborted;
        }
        throw error;
      }
      for (const upload of out.Uploads ?? []) {
        if (!upload.Key || !upload.UploadId) continue;
        // Swift reports Initiated rounded up to the next second: compare to the second.
        if (upload.Initiated && upload.Initiated.getTime() > cutoff + 1000) continue;
        await this.abortMultipartUpload(upload.Key, upload.UploadId).catch((error: unknown) => {
          if (!isNoSuchUpload(error)) throw error;
        });
        aborted.push({
          key: upload.Key,
          uploadId: upload.UploadId,
          ...(upload.Initiated ? { initiated: upload.Initiated } : {}),
        });
        this.logger?.info({ key: upload.Key, uploadId: upload.UploadId }, 'aborted a stale multipart upload');
      }
      if (!out.IsTruncated) return aborted;
      keyMarker = out.NextKeyMarker;
      uploadIdMarker = out.NextUploadIdMarker;
      if (!keyMarker) return aborted;
    }
  }
}

function quoteEtag(etag: string): string {
  return etag.startsWith('"') ? etag : `"${etag}"`;
}

function checkExpiry(seconds: number): void {
  if (!Number.isInteger(seconds) || seconds < 1 || seconds > MAX_PRESIGN_SECONDS)
    throw new RangeError(`a presigned URL expires after 1 to ${MAX_PRESIGN_SECONDS} seconds, got ${seconds}`);
}

/** User metadata goes out as x-amz-meta-* headers: refuse what would break the request or its signature. */
export function checkMetadata(metadata: Record<string, string>): Record<string, string> {
  for (const [name, value] of Object.entries(metadata)) {
    if (!METADATA_NAME.test(name))
      throw new InvalidKeyError(name, 'metadata names are lowercase a-z 0-9 _ - (sent as x-amz-meta-<name>)');
    if (typeof value !== 'string' || !METADATA_VALUE.test(value))
      throw new InvalidKeyError(value, `metadata ${name} must be printable ASCII`);
  }
  return metadata;
}

function statusOf(error: unknown): number | undefined {
  return (error as { $metadata?: { httpStatusCode?: number } } | undefined)?.$metadata?.httpStatusCode;
}

export function isNotFound(error: unknown): boolean {
  const name = (error as { name?: string } | undefined)?.name;
  return statusOf(error) === 404 || name === 'NotFound' || name === 'NoSuchKey';
}

/** 412 (a create-only PUT of a key that exists) or 409 ConditionalRequestConflict (a PUT racing it). */
function isPreconditionFailed(error: unknown): boolean {
  const status = statusOf(error);
  return status === 412 || status === 409;
}

export function isNoSuchUpload(error: unknown): boolean {
  return (error as { name?: string } | undefined)?.name === 'NoSuchUpload';
}

/** 501 NotImplemented, or s3rver's 405 for operations it lacks. */
export function isNotImplemented(error: unknown): boolean {
  const status = statusOf(error);
  return (
    status === 501 || status === 405 || (error as { name?: string } | undefined)?.name === 'NotImplemented'
  );
}
