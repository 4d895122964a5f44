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

/** The shared `unpack` queue, as much of BullMQ's Queue as a replay uses. */
export interface UnpackQueue {
  add(name: string, data: unknown, opts?: object): Promise<unknown>;
  getJob(id: string): Promise<{ getState(): Promise<string> } | undefined | null>;
}

export interface ReplayDeps {
  batches: BatchRepository;
  store: ObjectStore;
  unpackQueue: UnpackQueue;
  logger?: Logger;
}

export interface ReplayOptions {
  /** Queue a run even though the first unpack job has not started yet. */
  force?: boolean;
  /** Default: seconds since the epoch, or above every run recorded or queued: job ids of its own. */
  run?: number;
  /**
   * Only the files that failed for good (not the entries unpack refused: their bytes will not change),
   * for a batch that finished: they are extracted again from the archive in S3 into a new flow, since
   * the batch's scratch directory is gone (a plain job retry then fails with `scratch_missing`).
   */
  failedFilesOnly?: boolean;
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
  /** With failedFilesOnly: the entries run again. */
  entries?: string[];
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

  let entries: string[] | undefined;
  if (options.failedFilesOnly) {
    if (batch.status !== 'complete')
      throw new ReplayError(
        batchId,
        `it is ${batch.status}: only a finished (complete) batch's failed files can be retried; replay the whole batch instead`,
      );
    entries = await deps.batches.retryableFailedEntries(batchId);
    if (entries.length === 0) throw new ReplayError(batchId, 'it has no failed files to retry');
  }

  const run = options.run ?? (await nextRun(batchId, deps));
  const jobId = `${batchId}-${entries ? 'retry' : 'replay'}-${run}`;
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
      ...(entries ? { entries } : {}),
    },
    { jobId },
  );
  const payload = job.data;
  await deps.unpackQueue.add(job.name, job.data, job.opts);
  deps.logger?.info(
    { batchId, run, jobId, previousStatus: batch.status, firstJobState, entries: entries?.length },
    entries ? 'retry of failed files queued' : 'batch replay queued',
  );
  return {
    batchId,
    run,
    jobId,
    s3Key: batch.archiveKey,
    previousStatus: batch.status,
    ...(firstJobState ? { firstJobState } : {}),
    payload,
    ...(entries ? { entries } : {}),
  };
}

/**
 * A run number no earlier run of the batch has: the clock in seconds, moved past every run recorded in
 * `batch_runs` and every replay or retry job still queued. Seconds alone gave a retry and a replay
 * clicked within one second the same run, and so the same flow ids: the second flow was taken for the
 * first and never ran.
 */
async function nextRun(batchId: string, deps: ReplayDeps): Promise<number> {
  const recorded = (await deps.batches.runs(batchId)).map((r) => r.run + 1);
  let run = Math.max(Math.floor(Date.now() / 1000), ...recorded);
  const queued = async (n: number) =>
    (await deps.unpackQueue.getJob(`${batchId}-replay-${n}`)) ??
    (await deps.unpackQueue.getJob(`${batchId}-retry-${n}`));
  while (await queued(run)) run += 1;
  return run;
}
