import { UnrecoverableError, Worker, type ConnectionOptions, type Job } from 'bullmq';
import type { BatchRepository, FailureRepository } from '@audio/db';
import type { Logger } from '@audio/logger';
import type { BatchFlowProducer } from '@audio/queues';
import {
  formatReason,
  parsePayload,
  UNPACK_QUEUE,
  unpackPayload,
  type UnpackPayload,
  type WorkerTuning,
  workerName,
} from '@audio/queues';
import {
  ChecksumMismatchError,
  openVerifiedStream,
  type ObjectStore,
  type ScratchManager,
} from '@audio/storage';
import { ArchiveError, ArchiveExtractor, type ExtractionResult } from './archive-extractor.js';
import type { UnpackConfig } from './config.js';

export interface UnpackWorkerDeps {
  hostId: string;
  connection: ConnectionOptions;
  prefix: string;
  tuning?: WorkerTuning;
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
 * Takes an archive from the shared queue, extracts it into this host's scratch and creates the batch's
 * flow on this host. A truncated or unreadable archive fails the batch and leaves nothing behind: the
 * flow is created only after the whole archive was read.
 */
export async function unpackArchive(deps: UnpackWorkerDeps, payload: UnpackPayload): Promise<UnpackResult> {
  const { batchId } = payload;
  const log = deps.logger.child({ batchId });
  const batch = await deps.batches.get(batchId);
  if (!batch) {
    throw new UnrecoverableError(
      formatReason({ code: 'unknown_batch', message: `no batch row for ${batchId}` }),
    );
  }
  await deps.batches.markUnpacking(batchId, deps.hostId);
  const archive = await deps.store.head(payload.s3Key);
  if (!archive) {
    await deps.batches.markFailed(batchId, {
      code: 'archive_missing',
      message: `${payload.s3Key} is not in S3`,
    });
    throw new UnrecoverableError(
      formatReason({ code: 'archive_missing', message: `${payload.s3Key} is not in S3` }),
    );
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
    result = await extractor.extract(openVerifiedStream(deps.store, payload.s3Key), dir);
  } catch (error) {
    await deps.scratch.remove(batchId);
    if (error instanceof ArchiveError || error instanceof ChecksumMismatchError) {
      const code = error instanceof ArchiveError ? error.code : 'checksum_mismatch';
      const message = (error as Error).message;
      await deps.batches.markFailed(batchId, { code, message });
      log.warn({ code, message }, 'archive refused: batch failed');
      throw new UnrecoverableError(formatReason({ code, stage: 'unpack', message }));
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

export function createUnpackWorker(deps: UnpackWorkerDeps): Worker {
  return new Worker(
    UNPACK_QUEUE,
    async (job: Job) =>
      unpackArchive(deps, parsePayload(unpackPayload, job.data, `${UNPACK_QUEUE}/${job.id}`)),
    {
      ...deps.tuning,
      name: workerName('unpack', deps.hostId),
      connection: deps.connection,
      prefix: deps.prefix,
      concurrency: deps.config.unpackConcurrency,
      autorun: false, // the backlog gate decides when this host starts taking archives
    },
  );
}
