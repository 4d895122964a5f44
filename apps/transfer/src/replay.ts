import type { Queue } from 'bullmq';
import type { BatchRepository } from '@audio/db';
import type { Logger } from '@audio/logger';
import { assertBatchId, stageJob, type UnpackPayload } from '@audio/queues';
import { type ObjectStore } from '@audio/storage';

/** A batch that cannot be replayed; the message says which and why. */
export class ReplayError extends Error {
  constructor(
    readonly batchId: string,
    reason: string,
  ) {
    super(`cannot replay batch ${batchId}: ${reason}`);
    this.name = 'ReplayError';
  }
}

export interface ReplayDeps {
  batches: BatchRepository;
  store: ObjectStore;
  unpackQueue: Queue;
  logger?: Logger;
}

export interface ReplayOptions {
  /** Queue a run even though the first unpack job has not started yet. */
  force?: boolean;
  /** Default: seconds since the epoch, so every replay gets job ids of its own. */
  run?: number;
}

export interface ReplayResult {
  batchId: string;
  run: number;
  jobId: string;
  s3Key: string;
  /** The batch's status when the replay was queued. */
  previousStatus: string;
  /** State of the first run's unpack job (jobId = batch id), when BullMQ still has it. */
  firstJobState?: string;
  payload: UnpackPayload;
}

/** States in which the first run has not started: a replay would only run the batch twice. */
const NOT_STARTED = new Set(['waiting', 'delayed', 'prioritized', 'waiting-children']);

/**
 * Runs a batch again from its archive in S3, e.g. after the host that unpacked it died. The batch row
 * must exist and the archive must still be in S3 with the size and sha256 the row recorded. Adds an
 * `unpack` job with `run` = a new run number and jobId `{batchId}-replay-{run}`: the unpack worker builds
 * the batch's flow with job ids of that run, and every database write downstream is idempotent, so a
 * replay of a batch that did finish changes nothing but the timestamps.
 */
export async function replayBatch(
  batchId: string,
  deps: ReplayDeps,
  options: ReplayOptions = {},
): Promise<ReplayResult> {
  try {
    assertBatchId(batchId);
  } catch (error) {
    throw new ReplayError(batchId, (error as Error).message);
  }
  const batch = await deps.batches.get(batchId);
  if (!batch) throw new ReplayError(batchId, 'no such batch in the database (batches table)');
  const head = await deps.store.head(batch.archiveKey);
  if (!head)
    throw new ReplayError(
      batchId,
      `its archive ${batch.archiveKey} is not in bucket ${deps.store.bucket} (removed after the batch completed?)`,
    );
  if (
    head.size !== Number(batch.sizeBytes) ||
    (head.metadata.sha256 && head.metadata.sha256 !== batch.sha256)
  )
    throw new ReplayError(
      batchId,
      `its archive ${batch.archiveKey} (${head.size} bytes, sha256 ${head.metadata.sha256 ?? 'unknown'}) ` +
        `is not the one recorded (${batch.sizeBytes} bytes, sha256 ${batch.sha256})`,
    );

  const firstJob = await deps.unpackQueue.getJob(batchId);
  const firstJobState = firstJob ? await firstJob.getState() : undefined;
  if (firstJobState && NOT_STARTED.has(firstJobState) && !options.force)
    throw new ReplayError(
      batchId,
      `its first unpack job is still ${firstJobState} and will run by itself (force to queue another run anyway)`,
    );

  const run = options.run ?? Math.floor(Date.now() / 1000);
  const jobId = `${batchId}-replay-${run}`;
  const job = stageJob(
    'unpack',
    {
      batchId,
      s3Key: batch.archiveKey,
      transferredAt: batch.transferredAt.toISOString(),
      sha256: batch.sha256,
      sizeBytes: Number(batch.sizeBytes),
      source: batch.source,
      run,
    },
    { jobId },
  );
  const payload = job.data;
  await deps.unpackQueue.add(job.name, job.data, job.opts);
  deps.logger?.info(
    { batchId, run, jobId, previousStatus: batch.status, firstJobState },
    'batch replay queued',
  );
  return {
    batchId,
    run,
    jobId,
    s3Key: batch.archiveKey,
    previousStatus: batch.status,
    ...(firstJobState ? { firstJobState } : {}),
    payload,
  };
}
