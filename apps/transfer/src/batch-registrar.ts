import type { Queue } from 'bullmq';
import type { Batch, BatchRepository } from '@audio/db';
import { stageJob, waitForReplica, type RedisClient, type UnpackPayload } from '@audio/queues';

/** An archive whose upload was verified (size and sha256 of the object equal the source's). */
export interface VerifiedArchive {
  batchId: string;
  archiveKey: string;
  sha256: string;
  sizeBytes: number;
  /** Where it came from, e.g. an sftp:// or file:// URL; kept in the batch row. */
  source: string;
}

export interface Registration {
  /** False when the batch row already existed (a repeat after a crash or a retried request). */
  created: boolean;
  jobId: string;
  /**
   * False when the batch existed and unpack had already taken it: its job may have been removed since
   * (completed jobs are kept a day), and adding it again would unpack the batch a second time.
   */
  queued: boolean;
  payload: UnpackPayload;
  /**
   * Set when the same archive (same sha256) was ingested before as another batch: nothing new was
   * recorded or queued, and this names that first batch, whose results stand for both.
   */
  duplicateOf?: string;
}

/**
 * The last two steps every source shares: the batch row, then the `unpack` job with jobId = batch id.
 * Both are idempotent, so a repeat (a source that crashed before marking its file done, a retried
 * /complete request) changes nothing and queues nothing twice.
 */
export class BatchRegistrar {
  constructor(
    private readonly batches: BatchRepository,
    private readonly unpackQueue: Queue,
    /** The connection the queue runs on (on a Redis Cluster, the job is waited onto a replica). */
    private readonly redis?: RedisClient,
  ) {}

  async register(archive: VerifiedArchive): Promise<Registration> {
    const existing = await this.batches.get(archive.batchId);
    if (!existing) {
      // The same bytes arriving again (a re-sent file, a second source) are linked to the first batch
      // instead of becoming a second one whose flagged files would reach the review queue twice.
      const first = await this.batches.findBySha256(archive.sha256);
      if (first) {
        return {
          created: false,
          jobId: first.batchId,
          queued: false,
          payload: unpackPayloadOf(first),
          duplicateOf: first.batchId,
        };
      }
    }
    // create() refuses (ConflictingRecordError) a batch id that exists with another archive.
    const batch = await this.batches.create({
      batchId: archive.batchId,
      archiveKey: archive.archiveKey,
      sha256: archive.sha256,
      sizeBytes: archive.sizeBytes,
      source: archive.source,
      transferredAt: existing?.transferredAt ?? new Date(),
    });
    const job = unpackJobOf(batch);
    const queued = batch.status === 'transferred';
    if (queued) {
      await this.unpackQueue.add(job.name, job.data, job.opts);
      // On a Redis Cluster: on a replica before the source marks its file done, so that a master killed
      // now cannot take the only trace of the archive's job with it.
      if (this.redis) await waitForReplica(this.redis, this.unpackQueue.toKey('wait'));
    }
    return { created: existing === null, jobId: batch.batchId, queued, payload: job.data };
  }
}

/** The row's transfer time, not now: a repeat produces exactly the first payload. */
function unpackJobOf(batch: Batch) {
  return stageJob(
    'unpack',
    {
      batchId: batch.batchId,
      s3Key: batch.archiveKey,
      transferredAt: batch.transferredAt.toISOString(),
      sha256: batch.sha256,
      sizeBytes: Number(batch.sizeBytes),
      source: batch.source,
      run: 0,
    },
    { jobId: batch.batchId },
  );
}

function unpackPayloadOf(batch: Batch): UnpackPayload {
  return unpackJobOf(batch).data;
}
