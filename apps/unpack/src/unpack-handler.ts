import type { BatchRepository, FailureRepository } from '@audio/db';
import type { Logger } from '@audio/logger';
import { PipelineError, type BatchFlowProducer, type UnpackPayload } from '@audio/queues';
import {
  ChecksumMismatchError,
  openVerifiedStream,
  type ObjectStore,
  type ScratchManager,
} from '@audio/storage';
import { ArchiveError, ArchiveExtractor, type ExtractionResult } from './archive-extractor.js';
import type { UnpackConfig } from './config.js';

export interface UnpackDeps {
  hostId: string;
  config: UnpackConfig;
  store: ObjectStore;
  scratch: ScratchManager;
  batches: BatchRepository;
  failures: FailureRepository;
  flows: BatchFlowProducer;
  logger: Logger;
  /** Called for each refused entry (metrics). */
  onRefused?: (code: string) => void;
}

export interface UnpackResult {
  files: number;
  refused: number;
  bytes: number;
  flowCreated: boolean;
}

/**
 * The `unpack` stage: takes an archive from the shared queue, extracts it into this host's scratch and
 * creates the batch's flow on this host. A truncated or unreadable archive fails the batch and leaves
 * nothing behind: the flow is created only after the whole archive was read.
 */
export async function unpackArchive(deps: UnpackDeps, payload: UnpackPayload): Promise<UnpackResult> {
  const { batchId } = payload;
  const log = deps.logger.child({ batchId });
  const batch = await deps.batches.get(batchId);
  if (!batch) {
    throw new PipelineError('unknown_batch', `no batch row for ${batchId}`, { retryable: false });
  }
  const scope = payload.entries ? 'failed-files' : 'all';
  await deps.batches.markUnpacking(batchId, deps.hostId, { run: payload.run, scope });
  const archive = await deps.store.head(payload.s3Key);
  if (!archive) {
    const failure = new PipelineError('archive_missing', `${payload.s3Key} is not in S3`, {
      retryable: false,
    });
    await deps.batches.markFailed(batchId, { code: failure.code, message: failure.message });
    throw failure;
  }
  await deps.scratch.ensureFreeSpace(Math.min(archive.size, deps.config.batchScratchQuota));
  // A retry on this host starts from a clean directory: what a killed attempt left is not trusted.
  await deps.scratch.remove(batchId);
  const dir = await deps.scratch.create(batchId);

  const extractor = new ArchiveExtractor({
    maxEntryBytes: deps.config.maxEntryBytes,
    maxEntries: deps.config.maxEntries,
    quotaBytes: deps.config.batchScratchQuota,
  });
  let result: ExtractionResult;
  try {
    result = await extractor.extract(
      openVerifiedStream(deps.store, payload.s3Key),
      dir,
      undefined,
      payload.entries ? new Set(payload.entries) : undefined,
    );
  } catch (error) {
    await deps.scratch.remove(batchId);
    if (error instanceof ArchiveError || error instanceof ChecksumMismatchError) {
      const code = error instanceof ArchiveError ? error.code : 'checksum_mismatch';
      const failure = new PipelineError(code, error.message, { retryable: false });
      await deps.batches.markFailed(batchId, { code: failure.code, message: failure.message });
      log.warn({ code, message: failure.message }, 'archive refused: batch failed');
      throw failure;
    }
    throw error; // S3 or disk trouble: the job is retried (here or on another host)
  }

  for (const refused of result.refused) {
    await deps.failures.record({
      batchId,
      entry: refused.entry,
      stage: 'unpack',
      reasonCode: refused.code,
      message: refused.message,
      attempts: 1,
    });
    deps.onRefused?.(refused.code);
  }
  const flowCreated = await deps.flows.add({
    batchId,
    hostId: deps.hostId,
    run: payload.run,
    transferredAt: payload.transferredAt,
    archiveKey: payload.s3Key,
    refused: result.refused.length,
    files: result.files,
    scope,
  });
  await deps.batches.markUnpacked(batchId, { fileCount: result.files.length });
  log.info(
    { files: result.files.length, refused: result.refused.length, bytes: result.bytesWritten },
    'archive unpacked: flow created',
  );
  return {
    files: result.files.length,
    refused: result.refused.length,
    bytes: result.bytesWritten,
    flowCreated,
  };
}
