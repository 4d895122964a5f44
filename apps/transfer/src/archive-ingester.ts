import type { Logger } from '@audio/logger';
import { assertBatchId, newBatchId } from '@audio/queues';
import {
  ArchiveUploader,
  archiveKey,
  digestFile,
  type ArchiveUploaderOptions,
  type ObjectStore,
  type TransferProgress,
} from '@audio/storage';
import { checkArchiveFile } from './archive-check.js';
import type { BatchRegistrar } from './batch-registrar.js';

export interface IngestOptions {
  /** Where the archive came from (an sftp:// or file:// URL, `cli`, …); kept in the batch row. */
  source: string;
  /** A source-derived id (see batchIdForSourceFile) makes a repeat land in the same batch; default: new. */
  batchId?: string;
  onProgress?: (progress: TransferProgress) => void;
  signal?: AbortSignal;
}

export interface IngestResult {
  batchId: string;
  archiveKey: string;
  sha256: string;
  sizeBytes: number;
  /** False when the batch row already existed: this was a repeat of an earlier ingest. */
  created: boolean;
  /** False when the object was already in S3 with this content (a repeat), so nothing was sent. */
  uploaded: boolean;
  /** False when unpack had already taken the batch, so no job was added. */
  queued: boolean;
  /**
   * The same archive (same sha256) was ingested before: `batchId` is that first batch, the copy just
   * uploaded was removed, and nothing new was recorded or queued.
   */
  duplicateOf?: string;
}

/** The archive in S3 differs from the one being ingested under the same batch id. */
export class ArchiveConflictError extends Error {
  constructor(
    readonly batchId: string,
    readonly key: string,
    detail: string,
  ) {
    super(`batch ${batchId} already has a different archive at ${key} (${detail}); refusing to overwrite it`);
    this.name = 'ArchiveConflictError';
  }
}

/** The object after the upload does not match the local file. */
export class UploadVerificationError extends Error {
  constructor(
    readonly key: string,
    detail: string,
  ) {
    super(`upload of ${key} could not be verified: ${detail}`);
    this.name = 'UploadVerificationError';
  }
}

export interface ArchiveIngesterOptions {
  store: ObjectStore;
  registrar: BatchRegistrar;
  /** Resumable-upload state files; a restarted ingest of the same file resumes its multipart upload. */
  stateDir: string;
  logger?: Logger;
  uploader?: Omit<ArchiveUploaderOptions, 'stateDir' | 'logger'>;
}

/**
 * Where every source ends: a local tar file becomes a verified S3 object at `archives/{batchId}.tar`
 * (sha256 in its metadata), a batch row and an `unpack` job with jobId = batch id. Each step is
 * idempotent, so ingesting the same file under the same batch id again is safe and sends nothing twice.
 * The local file is left in place: removing it (or marking it done) is the source's job, after this
 * resolved.
 */
export class ArchiveIngester {
  private readonly logger: Logger | undefined;

  constructor(private readonly options: ArchiveIngesterOptions) {
    this.logger = options.logger;
  }

  async ingest(localPath: string, options: IngestOptions): Promise<IngestResult> {
    const file = await checkArchiveFile(localPath);
    const batchId = assertBatchId(options.batchId ?? newBatchId());
    const key = archiveKey(batchId);
    const { store } = this.options;
    const log = this.logger?.child({ batchId, key, source: options.source });

    let sha256: string;
    let uploaded = false;
    const before = await store.head(key);
    if (before) {
      // A repeat: the object is there from an earlier run. Same bytes → keep it; others → refuse.
      const local = await digestFile(localPath, options.signal ? { signal: options.signal } : {});
      if (before.size !== local.size || before.metadata.sha256 !== local.sha256)
        throw new ArchiveConflictError(
          batchId,
          key,
          `${before.size} bytes, sha256 ${before.metadata.sha256 ?? 'unknown'}; local ${local.size} bytes, sha256 ${local.sha256}`,
        );
      sha256 = local.sha256;
      options.onProgress?.({ bytes: local.size, total: local.size, mbPerSecond: 0, etaSeconds: 0 });
      log?.info('archive already in S3 with the same content: not sent again');
    } else {
      const uploader = new ArchiveUploader(store, {
        ...this.options.uploader,
        stateDir: this.options.stateDir,
        ...(this.logger ? { logger: this.logger } : {}),
      });
      if (options.onProgress) uploader.on('progress', options.onProgress);
      const result = await uploader.upload(localPath, key, {
        contentType: 'application/x-tar',
        metadata: { 'batch-id': batchId },
        ...(options.signal ? { signal: options.signal } : {}),
      });
      sha256 = result.sha256;
      uploaded = true;
    }

    const head = await store.head(key);
    if (!head) throw new UploadVerificationError(key, 'the object is missing after the upload');
    if (head.size !== file.size)
      throw new UploadVerificationError(key, `it has ${head.size} bytes, the file ${file.size}`);
    if (head.metadata.sha256 !== sha256)
      throw new UploadVerificationError(
        key,
        `its sha256 metadata is ${head.metadata.sha256 ?? 'missing'}, the file's ${sha256}`,
      );

    const registration = await this.options.registrar.register({
      batchId,
      archiveKey: key,
      sha256,
      sizeBytes: file.size,
      source: options.source,
    });
    if (registration.duplicateOf) {
      const first = registration.payload.s3Key;
      if (first !== key) await store.delete(key);
      log?.warn(
        { sha256, duplicateOf: registration.duplicateOf },
        'archive was ingested before (same sha256): linked to the first batch, copy removed',
      );
      return {
        batchId: registration.duplicateOf,
        archiveKey: first,
        sha256,
        sizeBytes: file.size,
        created: false,
        uploaded,
        queued: false,
        duplicateOf: registration.duplicateOf,
      };
    }
    log?.info(
      { size: file.size, sha256, uploaded, created: registration.created, queued: registration.queued },
      'archive ingested',
    );
    return {
      batchId,
      archiveKey: key,
      sha256,
      sizeBytes: file.size,
      created: registration.created,
      uploaded,
      queued: registration.queued,
    };
  }
}
