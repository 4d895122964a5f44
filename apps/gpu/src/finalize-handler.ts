import { Job, type Queue } from 'bullmq';
import type { BatchRepository, FailureRepository } from '@audio/db';
import type { Logger } from '@audio/logger';
import { decodeFailure, type FinalizePayload, type PipelineFailure } from '@audio/queues';
import type { ObjectStore, ScratchManager } from '@audio/storage';

export interface FinalizeDeps {
  hostId: string;
  scratch: ScratchManager;
  store: ObjectStore;
  batches: BatchRepository;
  failures: FailureRepository;
  deleteArchiveAfterComplete: boolean;
  /** This host's transcribe queue: only for failures an older release stored (see `failureOfChild`). */
  transcribeQueue: Queue;
  logger: Logger;
  /** Called for each failure recorded (metrics). */
  onFailureRecorded?: (failure: PipelineFailure) => void;
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
 * The `finalize` stage, once every file of a batch is done: records the files that failed for good (the
 * children whose failures the flow ignored), removes the batch's scratch directory and marks the batch
 * complete. Every step is idempotent, so a retried finalize does no harm.
 */
export async function finalizeBatch(
  deps: FinalizeDeps,
  data: FinalizePayload,
  job: Job,
): Promise<FinalizeResult> {
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
  for (const [childKey, reason] of Object.entries(ignored)) {
    const failure = await failureOfChild(deps, childKey, reason);
    await deps.failures.record({
      batchId: data.batchId,
      entry: failure.entry,
      stage: failure.stage,
      reasonCode: failure.code,
      message: failure.message,
      attempts: failure.attempts,
    });
    deps.onFailureRecorded?.(failure);
  }
  const failed = Object.keys(ignored).length;
  const succeeded = data.files - failed;
  await deps.scratch.remove(data.batchId); // idempotent: a retry finds it gone
  let archiveDeleted = false;
  if (deps.deleteArchiveAfterComplete) {
    await deps.store.delete(data.archiveKey);
    archiveDeleted = true;
  }
  // A retry of failed files ran some files only: the batch's counts are what the database now holds.
  const counts =
    data.scope === 'failed-files'
      ? await deps.batches.fileCounts([data.batchId]).then((c) => c.get(data.batchId)!)
      : null;
  await deps.batches.markComplete(
    data.batchId,
    counts
      ? { succeeded: counts.filesDone, failed: counts.filesFailed }
      : { succeeded, failed: failed + data.refused },
  );
  deps.logger.info({ batchId: data.batchId, succeeded, failed, refused: data.refused }, 'batch complete');
  return { succeeded, failed, refused: data.refused, scratchCleaned: true, archiveDeleted };
}

/**
 * A child's stored failure. Since the stage table, it names its stage, entry and attempts. A reason in
 * the `[code@stage] message` form of an older release does not: only then is the child job read for its
 * entry and attempts (remove with `decodeFailure`'s legacy branch).
 */
async function failureOfChild(
  deps: FinalizeDeps,
  childKey: string,
  reason: string,
): Promise<PipelineFailure> {
  const failure = decodeFailure(reason);
  if (failure.stage && failure.entry !== undefined && failure.attempts)
    return { ...failure, stage: failure.stage, entry: failure.entry, attempts: failure.attempts };
  const childId = childKey.slice(childKey.lastIndexOf(':') + 1);
  const child = await Job.fromId(deps.transcribeQueue, childId);
  return {
    ...failure,
    stage: failure.stage ?? 'transcribe',
    entry: failure.entry ?? (child?.data as { entry?: string } | undefined)?.entry ?? childId,
    attempts: failure.attempts ?? child?.attemptsMade ?? 1,
  };
}
