import { z } from 'zod';
import { batchIdSchema } from '@audio/queues';
import type { Db } from './db.js';
import { Prisma, type Batch, type BatchStatus } from './generated/prisma/client.js';
import { BatchNotFoundError, BatchStateError, ConflictingRecordError } from './errors.js';
import { parseInput } from './parse-input.js';

const count = z.number().int('must be a whole number').nonnegative('must not be negative');
const text = z.string().trim().min(1, 'must not be empty');

const createInput = z.object({
  batchId: batchIdSchema,
  archiveKey: text,
  sha256: z.string().regex(/^[0-9a-f]{64}$/, 'must be 64 lowercase hex digits'),
  sizeBytes: z
    .union([z.bigint(), z.number().int('must be a whole number')])
    .transform((v) => BigInt(v))
    .refine((v) => v >= 0n, 'must not be negative'),
  source: text,
  /** A Date, or an ISO 8601 string with offset as the unpack payload carries it. */
  transferredAt: z
    .union([z.date(), z.iso.datetime({ offset: true }).transform((iso) => new Date(iso))], {
      error: 'must be a Date or an ISO 8601 timestamp',
    })
    .refine((d) => !Number.isNaN(d.getTime()), 'must be a valid Date'),
  fileCount: count.optional(),
});
export type CreateBatchInput = z.input<typeof createInput>;

export interface BatchProgress {
  batchId: string;
  status: BatchStatus;
  /** Files in the archive, once known. */
  fileCount: number | null;
  /** Files with their results recorded. */
  filesDone: number;
  /** Archive entries with at least one recorded failure. */
  filesFailed: number;
  /** fileCount - filesDone - filesFailed (never below 0), or null while fileCount is unknown. */
  filesRemaining: number | null;
}

/** What Postgres knows of a batch's files: results recorded, entries that failed, a whole-batch failure. */
export interface BatchFileCounts {
  /** Files with their results recorded. */
  filesDone: number;
  /** Archive entries with at least one recorded failure. */
  filesFailed: number;
  /** The first recorded failure of the batch as a whole (entry ''), if any. */
  batchFailure: { code: string; message: string } | null;
}

/**
 * Batches and their lifecycle: transferred → unpacking → unpacked → complete, or failed. A replay (another
 * host taking the batch after a crash, or an operator re-running it) starts again at `markUnpacking`.
 */
export class BatchRepository {
  constructor(private readonly db: Db) {}

  /** Records an archive that arrived in S3. Idempotent on batchId: a repeat returns the existing row. */
  async create(input: CreateBatchInput): Promise<Batch> {
    const data = parseInput(createInput, input, 'create batch');
    // ON CONFLICT DO NOTHING: concurrent creators of one batch never see a unique violation.
    await this.db.prisma.batch.createMany({ data: [data], skipDuplicates: true });
    const batch = await this.getOrThrow(data.batchId);
    if (batch.sha256 !== data.sha256 || batch.archiveKey !== data.archiveKey) {
      throw new ConflictingRecordError(
        `batch ${data.batchId} already exists with archive ${batch.archiveKey} (sha256 ${batch.sha256}); ` +
          `refusing ${data.archiveKey} (sha256 ${data.sha256})`,
      );
    }
    return batch;
  }

  /** A host starts extracting the batch; from any status, since a replay starts here. */
  markUnpacking(batchId: string, host: string): Promise<Batch> {
    const valid = parseInput(z.object({ host: text }), { host }, 'mark batch unpacking');
    return this.transition(batchId, 'mark it unpacking', undefined, {
      status: 'unpacking',
      host: valid.host,
      unpackingAt: new Date(),
      unpackedAt: null,
      completedAt: null,
      succeededCount: null,
      failedCount: null,
      errorCode: null,
      errorMessage: null,
    });
  }

  /** Extraction finished; its files are now being processed. */
  markUnpacked(batchId: string, result: { fileCount: number }): Promise<Batch> {
    const { fileCount } = parseInput(z.object({ fileCount: count }), result, 'mark batch unpacked');
    return this.transition(batchId, 'mark it unpacked', ['unpacking', 'unpacked'], {
      status: 'unpacked',
      fileCount,
      unpackedAt: new Date(),
    });
  }

  /** Finalize ran. Repeating it (a re-run finalize job) updates the counts and keeps the completion time. */
  async markComplete(batchId: string, result: { succeeded: number; failed: number }): Promise<Batch> {
    const counts = parseInput(z.object({ succeeded: count, failed: count }), result, 'mark batch complete');
    const data = { succeededCount: counts.succeeded, failedCount: counts.failed };
    const completed = await this.tryTransition(batchId, ['unpacked'], {
      ...data,
      status: 'complete',
      completedAt: new Date(),
    });
    if (completed) return this.getOrThrow(batchId);
    return this.transition(batchId, 'mark it complete', ['complete'], data);
  }

  /** The batch as a whole failed (e.g. the archive is corrupt). A complete batch cannot fail. */
  markFailed(batchId: string, reason: { code: string; message: string }): Promise<Batch> {
    const valid = parseInput(z.object({ code: text, message: z.string() }), reason, 'mark batch failed');
    return this.transition(batchId, 'mark it failed', ['transferred', 'unpacking', 'unpacked', 'failed'], {
      status: 'failed',
      errorCode: valid.code,
      errorMessage: valid.message,
    });
  }

  get(batchId: string): Promise<Batch | null> {
    return this.db.prisma.batch.findUnique({ where: { batchId } });
  }

  /** Newest first. */
  list(options: { status?: BatchStatus; limit?: number; offset?: number } = {}): Promise<Batch[]> {
    return this.db.prisma.batch.findMany({
      where: options.status ? { status: options.status } : {},
      orderBy: [{ transferredAt: 'desc' }, { batchId: 'desc' }],
      take: Math.min(options.limit ?? 50, 1000),
      skip: options.offset ?? 0,
    });
  }

  async progress(batchId: string): Promise<BatchProgress> {
    const batch = await this.getOrThrow(batchId);
    const { filesDone, filesFailed } = (await this.fileCounts([batchId])).get(batchId)!;
    return {
      batchId,
      status: batch.status,
      fileCount: batch.fileCount,
      filesDone,
      filesFailed,
      filesRemaining:
        batch.fileCount === null ? null : Math.max(0, batch.fileCount - filesDone - filesFailed),
    };
  }

  /** File counts of many batches in two queries (the batch list); batches without rows count zero. */
  async fileCounts(batchIds: string[]): Promise<Map<string, BatchFileCounts>> {
    const counts = new Map<string, BatchFileCounts>(
      batchIds.map((id) => [id, { filesDone: 0, filesFailed: 0, batchFailure: null }]),
    );
    if (batchIds.length === 0) return counts;
    const [done, failed] = await Promise.all([
      this.db.prisma.audioFile.groupBy({
        by: ['batchId'],
        where: { batchId: { in: batchIds } },
        _count: { _all: true },
      }),
      this.db.prisma.$queryRaw<
        { batchId: string; files: number; code: string | null; message: string | null }[]
      >`
        SELECT batch_id AS "batchId",
               count(DISTINCT entry) FILTER (WHERE entry <> '')::int AS files,
               min(reason_code) FILTER (WHERE entry = '') AS code,
               min(message) FILTER (WHERE entry = '') AS message
        FROM processing_failures WHERE batch_id IN (${Prisma.join(batchIds)})
        GROUP BY batch_id`,
    ]);
    for (const d of done) counts.get(d.batchId)!.filesDone = d._count._all;
    for (const f of failed) {
      const c = counts.get(f.batchId)!;
      c.filesFailed = f.files;
      c.batchFailure = f.code ? { code: f.code, message: f.message ?? '' } : null;
    }
    return counts;
  }

  private async getOrThrow(batchId: string): Promise<Batch> {
    const batch = await this.get(batchId);
    if (!batch) throw new BatchNotFoundError(batchId);
    return batch;
  }

  /**
   * One conditional UPDATE (status in `from`), so two hosts racing on one batch cannot both move it
   * from a status that allows only one of them; when nothing matched, says why.
   */
  private async transition(
    batchId: string,
    action: string,
    from: BatchStatus[] | undefined,
    data: Prisma.BatchUpdateManyMutationInput,
  ): Promise<Batch> {
    const updated = await this.tryTransition(batchId, from, data);
    const batch = await this.getOrThrow(batchId);
    if (!updated) throw new BatchStateError(batchId, batch.status, action);
    return batch;
  }

  private async tryTransition(
    batchId: string,
    from: BatchStatus[] | undefined,
    data: Prisma.BatchUpdateManyMutationInput,
  ): Promise<boolean> {
    parseInput(z.object({ batchId: batchIdSchema }), { batchId }, 'update batch');
    const { count: updated } = await this.db.prisma.batch.updateMany({
      where: { batchId, ...(from ? { status: { in: from } } : {}) },
      data,
    });
    return updated > 0;
  }
}
