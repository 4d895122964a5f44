import { Job, Queue, Worker, type ConnectionOptions } from 'bullmq';
import type { BatchRepository, FailureRepository } from '@audio/db';
import type { Logger } from '@audio/logger';
import {
  finalizePayload,
  finalizeQueueName,
  parsePayload,
  parseReason,
  transcribeQueueName,
  type WorkerTuning,
  workerName,
} from '@audio/queues';
import type { ObjectStore, ScratchManager } from '@audio/storage';

export interface FinalizeWorkerDeps {
  hostId: string;
  connection: ConnectionOptions;
  prefix: string;
  tuning?: WorkerTuning;
  scratch: ScratchManager;
  store: ObjectStore;
  batches: BatchRepository;
  failures: FailureRepository;
  deleteArchiveAfterComplete: boolean;
  concurrency: number;
  logger: Logger;
  /** Called for each failure recorded (metrics). */
  onFailureRecorded?: (stage: string, reasonCode: string) => void;
}

export interface FinalizeResult {
  succeeded: number;
  failed: number;
  refused: number;
  scratchCleaned: boolean;
  archiveDeleted: boolean;
  /** The batch was replayed on another host meanwhile: this run only cleaned its scratch. */
  superseded?: boolean;
}

/**
 * Runs once every file of a batch is done: records the files that failed for good (the children whose
 * failures the flow ignored), removes the batch's scratch directory and marks the batch complete.
 * Every step is idempotent, so a retried finalize does no harm.
 */
export async function finalizeBatch(
  deps: FinalizeWorkerDeps,
  job: Job,
  transcribeQueue: Queue,
): Promise<FinalizeResult> {
  const data = parsePayload(finalizePayload, job.data, `${finalizeQueueName(deps.hostId)}/${job.id}`);
  const batch = await deps.batches.get(data.batchId);
  if (batch?.host && batch.host !== deps.hostId) {
    // This host came back after its batch was replayed elsewhere: the other run's results stand.
    await deps.scratch.remove(data.batchId);
    deps.logger.warn(
      { batchId: data.batchId, owner: batch.host },
      'batch was replayed on another host: run dropped',
    );
    return {
      succeeded: 0,
      failed: 0,
      refused: data.refused,
      scratchCleaned: true,
      archiveDeleted: false,
      superseded: true,
    };
  }
  const ignored = await job.getIgnoredChildrenFailures();
  for (const [childKey, reasonText] of Object.entries(ignored)) {
    const childId = childKey.slice(childKey.lastIndexOf(':') + 1);
    const child = await Job.fromId(transcribeQueue, childId);
    const reason = parseReason(reasonText);
    await deps.failures.record({
      batchId: data.batchId,
      entry: (child?.data as { entry?: string } | undefined)?.entry ?? childId,
      stage: reason.stage ?? 'transcribe',
      reasonCode: reason.code,
      message: reason.message,
      attempts: child?.attemptsMade ?? 1,
    });
    deps.onFailureRecorded?.(reason.stage ?? 'transcribe', reason.code);
  }
  const failed = Object.keys(ignored).length;
  const succeeded = data.files - failed;
  await deps.scratch.remove(data.batchId); // idempotent: a retry finds it gone
  let archiveDeleted = false;
  if (deps.deleteArchiveAfterComplete) {
    await deps.store.delete(data.archiveKey);
    archiveDeleted = true;
  }
  await deps.batches.markComplete(data.batchId, { succeeded, failed: failed + data.refused });
  deps.logger.info({ batchId: data.batchId, succeeded, failed, refused: data.refused }, 'batch complete');
  return { succeeded, failed, refused: data.refused, scratchCleaned: true, archiveDeleted };
}

export function createFinalizeWorker(deps: FinalizeWorkerDeps): { worker: Worker; close(): Promise<void> } {
  const transcribeQueue = new Queue(transcribeQueueName(deps.hostId), {
    connection: deps.connection,
    prefix: deps.prefix,
  });
  const worker = new Worker(
    finalizeQueueName(deps.hostId),
    (job: Job) => finalizeBatch(deps, job, transcribeQueue),
    {
      ...deps.tuning,
      name: workerName('finalize', deps.hostId),
      connection: deps.connection,
      prefix: deps.prefix,
      concurrency: deps.concurrency,
    },
  );
  return {
    worker,
    async close() {
      await worker.close();
      await transcribeQueue.close();
    },
  };
}
