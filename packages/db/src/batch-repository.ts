import { z } from 'zod';
import { batchIdSchema } from '@audio/queues';
import type { Db } from './db.js';
import { Prisma, type Batch, type BatchRun, type BatchStatus } from './generated/prisma/client.js';
import { BatchNotFoundError, BatchStateError, ConflictingRecordError } from './errors.js';
import { parseInput } from './parse-input.js';

/** `all`: a run over the whole archive; `failed-files`: a run over the entries that had failed only. */
export const RUN_SCOPES = ['all', 'failed-files'] as const;
export type RunScope = (typeof RUN_SCOPES)[number];

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

/** What the batch list can be narrowed to; every field optional, all of them apply together. */
export interface BatchListFilter {
  status?: BatchStatus | undefined;
  /** Part of the batch id or of the source, any case. */
  search?: string | undefined;
  transferredFrom?: Date | undefined;
  transferredBefore?: Date | undefined;
  /** Batches that failed, or have files that failed, within this many ms. */
  failedWithinMs?: number | undefined;
}

export interface BatchProgress {
  batchId: string;
  status: BatchStatus;
  /** Files in the archive that unpack accepted, once known. */
  fileCount: number | null;
  /** Every entry of the archive: accepted files plus refused entries; null while unknown. */
  totalEntries: number | null;
  /** Files with their results recorded. */
  filesDone: number;
  /** Entries with a recorded failure and no results (refused ones included). */
  filesFailed: number;
  /** Of those, entries unpack refused (never became files). */
  entriesRefused: number;
  /** totalEntries - filesDone - filesFailed (never below 0), or null while unknown. */
  filesRemaining: number | null;
}

/** What Postgres knows of a batch's files: results recorded, entries that failed, a whole-batch failure. */
export interface BatchFileCounts {
  /** Files with their results recorded. */
  filesDone: number;
  /**
   * Entries with a recorded failure and no results: refused by unpack, or failed for good later (an
   * entry that failed once and then succeeded counts as done only).
   */
  filesFailed: number;
  /** Entries unpack refused: they are not in `fileCount`, so totals add them. */
  entriesRefused: number;
  /** The first recorded failure of the batch as a whole (entry ''), if any. */
  batchFailure: { code: string; message: string } | null;
}

/** A batch a host started and has not finished (`unpacking` or `unpacked`), with its latest run. */
export interface OwnedBatch {
  batchId: string;
  host: string;
  status: 'unpacking' | 'unpacked';
  /** The run the host is on (the latest started), null for a batch unpacked before batch_runs existed. */
  run: number | null;
  scope: RunScope | null;
  /** The highest run number the batch has had (a new run must differ from every one). */
  maxRun: number;
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

  /**
   * A host starts extracting the batch; from any status, since a replay starts here. The first
   * completion (`completedAt`) stays: the noon target and "Took" are about when the results were first
   * there. The run gets a row of its own (`batch_runs`; a repeat of the same run starts it again).
   */
  async markUnpacking(
    batchId: string,
    host: string,
    run: { run?: number; scope?: RunScope } = {},
  ): Promise<Batch> {
    const valid = parseInput(
      z.object({
        host: text,
        run: z.number().int().nonnegative().default(0),
        scope: z.enum(RUN_SCOPES).default('all'),
      }),
      { host, ...run },
      'mark batch unpacking',
    );
    const now = new Date();
    const batch = await this.transition(batchId, 'mark it unpacking', undefined, {
      status: 'unpacking',
      host: valid.host,
      unpackingAt: now,
      unpackedAt: null,
      failedAt: null,
      succeededCount: null,
      failedCount: null,
      errorCode: null,
      errorMessage: null,
    });
    const fresh = {
      host: valid.host,
      scope: valid.scope,
      status: 'unpacking' as const,
      startedAt: now,
      unpackedAt: null,
      finishedAt: null,
      fileCount: null,
      succeededCount: null,
      failedCount: null,
      errorCode: null,
    };
    await this.db.prisma.batchRun.upsert({
      where: { batchId_run: { batchId, run: valid.run } },
      create: { batchId, run: valid.run, ...fresh },
      update: fresh,
    });
    return batch;
  }

  /** Extraction finished; its files are now being processed. */
  async markUnpacked(batchId: string, result: { fileCount: number }): Promise<Batch> {
    const { fileCount } = parseInput(z.object({ fileCount: count }), result, 'mark batch unpacked');
    const unpackedAt = new Date();
    const partial = (await this.latestRun(batchId))?.scope === 'failed-files';
    const batch = await this.transition(batchId, 'mark it unpacked', ['unpacking', 'unpacked'], {
      status: 'unpacked',
      // A retry of failed files extracts only those: the archive's count stays what the first run found.
      ...(partial ? {} : { fileCount }),
      unpackedAt,
    });
    await this.updateLatestRun(batchId, { status: 'unpacked', unpackedAt, fileCount });
    return batch;
  }

  /**
   * Finalize ran. The first completion time is kept for good; a repeat (a re-run finalize job, a replay)
   * updates the counts only.
   */
  async markComplete(batchId: string, result: { succeeded: number; failed: number }): Promise<Batch> {
    const counts = parseInput(z.object({ succeeded: count, failed: count }), result, 'mark batch complete');
    const data = { succeededCount: counts.succeeded, failedCount: counts.failed };
    const now = new Date();
    const before = await this.getOrThrow(batchId);
    const completed = await this.tryTransition(batchId, ['unpacked'], {
      ...data,
      status: 'complete',
      ...(before.completedAt ? {} : { completedAt: now }),
    });
    const run = await this.latestRun(batchId);
    if (completed || run?.status !== 'complete')
      await this.updateLatestRun(batchId, { ...data, status: 'complete', finishedAt: now });
    if (completed) return this.getOrThrow(batchId);
    return this.transition(batchId, 'mark it complete', ['complete'], data);
  }

  /** The batch as a whole failed (e.g. the archive is corrupt). A complete batch cannot fail. */
  async markFailed(batchId: string, reason: { code: string; message: string }): Promise<Batch> {
    const valid = parseInput(z.object({ code: text, message: z.string() }), reason, 'mark batch failed');
    const failedAt = new Date();
    const batch = await this.transition(
      batchId,
      'mark it failed',
      ['transferred', 'unpacking', 'unpacked', 'failed'],
      { status: 'failed', errorCode: valid.code, errorMessage: valid.message, failedAt },
    );
    await this.updateLatestRun(batchId, { status: 'failed', errorCode: valid.code, finishedAt: failedAt });
    return batch;
  }

  /** The batch's runs, first first. */
  runs(batchId: string): Promise<BatchRun[]> {
    return this.db.prisma.batchRun.findMany({
      where: { batchId },
      orderBy: [{ startedAt: 'asc' }, { run: 'asc' }],
    });
  }

  /**
   * Entries that failed for good after unpack accepted them (convert, transcribe…) and have no
   * results: what a retry of failed files runs again. Refused entries are left out: same bytes, same
   * verdict.
   */
  async retryableFailedEntries(batchId: string): Promise<string[]> {
    const rows = await this.db.prisma.$queryRaw<{ entry: string }[]>`
      SELECT DISTINCT f.entry FROM processing_failures f
      WHERE f.batch_id = ${batchId} AND f.entry <> ''
        AND NOT EXISTS (SELECT 1 FROM processing_failures u
                        WHERE u.batch_id = f.batch_id AND u.entry = f.entry AND u.stage = 'unpack')
        AND NOT EXISTS (SELECT 1 FROM audio_files a
                        WHERE a.batch_id = f.batch_id AND a.original_filename = f.entry)
      ORDER BY f.entry`;
    return rows.map((r) => r.entry);
  }

  /**
   * Batches some host started and has not finished, with the run it is on: what a host that died leaves
   * behind. With `batchId`: that batch only (a re-check right before acting on it).
   */
  unfinishedOwned(batchId?: string): Promise<OwnedBatch[]> {
    return this.db.prisma.$queryRaw<OwnedBatch[]>`
      SELECT b.batch_id AS "batchId", b.host, b.status::text AS status, r.run, r.scope,
             coalesce((SELECT max(m.run) FROM batch_runs m WHERE m.batch_id = b.batch_id), 0)::int AS "maxRun"
      FROM batches b
      LEFT JOIN LATERAL (SELECT run, scope FROM batch_runs WHERE batch_id = b.batch_id
                         ORDER BY started_at DESC, run DESC LIMIT 1) r ON true
      WHERE b.status IN ('unpacking', 'unpacked') AND b.host IS NOT NULL
        ${batchId === undefined ? Prisma.empty : Prisma.sql`AND b.batch_id = ${batchId}`}
      ORDER BY b.transferred_at, b.batch_id`;
  }

  /** The batch first ingested with this archive content (oldest transfer first), if any. */
  findBySha256(sha256: string): Promise<Batch | null> {
    return this.db.prisma.batch.findFirst({
      where: { sha256 },
      orderBy: [{ transferredAt: 'asc' }, { batchId: 'asc' }],
    });
  }

  private latestRun(batchId: string): Promise<BatchRun | null> {
    return this.db.prisma.batchRun.findFirst({
      where: { batchId },
      orderBy: [{ startedAt: 'desc' }, { run: 'desc' }],
    });
  }

  /** The run a stage reports on is the latest one started (a batch runs on one host at a time). */
  private async updateLatestRun(batchId: string, data: Prisma.BatchRunUpdateInput): Promise<void> {
    const run = await this.latestRun(batchId);
    if (!run) return; // a batch unpacked before batch_runs existed
    await this.db.prisma.batchRun.update({ where: { batchId_run: { batchId, run: run.run } }, data });
  }

  get(batchId: string): Promise<Batch | null> {
    return this.db.prisma.batch.findUnique({ where: { batchId } });
  }

  /** Newest first, filtered (see BatchListFilter). */
  async list(options: BatchListFilter & { limit?: number; offset?: number } = {}): Promise<Batch[]> {
    return this.db.prisma.batch.findMany({
      where: await this.where(options),
      orderBy: [{ transferredAt: 'desc' }, { batchId: 'desc' }],
      take: Math.min(options.limit ?? 50, 1000),
      skip: options.offset ?? 0,
    });
  }

  /** Batches per status under the filter (give it without a status), every status listed. */
  async countByStatus(options: BatchListFilter = {}): Promise<Record<BatchStatus, number>> {
    const groups = await this.db.prisma.batch.groupBy({
      by: ['status'],
      where: await this.where(options),
      _count: { _all: true },
    });
    const counts: Record<BatchStatus, number> = {
      transferred: 0,
      unpacking: 0,
      unpacked: 0,
      complete: 0,
      failed: 0,
    };
    for (const g of groups) counts[g.status] = g._count._all;
    return counts;
  }

  private async where(filter: BatchListFilter): Promise<Prisma.BatchWhereInput> {
    const and: Prisma.BatchWhereInput[] = [];
    if (filter.status) and.push({ status: filter.status });
    const search = filter.search?.trim();
    if (search)
      and.push({
        OR: [
          { batchId: { contains: search, mode: 'insensitive' } },
          { source: { contains: search, mode: 'insensitive' } },
        ],
      });
    if (filter.transferredFrom) and.push({ transferredAt: { gte: filter.transferredFrom } });
    if (filter.transferredBefore) and.push({ transferredAt: { lt: filter.transferredBefore } });
    if (filter.failedWithinMs !== undefined) {
      const since = new Date(Date.now() - filter.failedWithinMs);
      const withFailedFiles = await this.db.prisma.$queryRaw<{ batchId: string }[]>`
        SELECT DISTINCT f.batch_id AS "batchId" FROM processing_failures f
        WHERE f.entry <> '' AND f.updated_at > ${since}
          AND NOT EXISTS (SELECT 1 FROM audio_files a
                          WHERE a.batch_id = f.batch_id AND a.original_filename = f.entry)
        LIMIT 10000`;
      and.push({
        OR: [
          { status: 'failed', failedAt: { gt: since } },
          { batchId: { in: withFailedFiles.map((r) => r.batchId) } },
        ],
      });
    }
    return and.length ? { AND: and } : {};
  }

  async progress(batchId: string): Promise<BatchProgress> {
    const batch = await this.getOrThrow(batchId);
    const { filesDone, filesFailed, entriesRefused } = (await this.fileCounts([batchId])).get(batchId)!;
    const totalEntries = batch.fileCount === null ? null : batch.fileCount + entriesRefused;
    return {
      batchId,
      status: batch.status,
      fileCount: batch.fileCount,
      totalEntries,
      filesDone,
      filesFailed,
      entriesRefused,
      filesRemaining: totalEntries === null ? null : Math.max(0, totalEntries - filesDone - filesFailed),
    };
  }

  /** File counts of many batches in two queries (the batch list); batches without rows count zero. */
  async fileCounts(batchIds: string[]): Promise<Map<string, BatchFileCounts>> {
    const counts = new Map<string, BatchFileCounts>(
      batchIds.map((id) => [id, { filesDone: 0, filesFailed: 0, entriesRefused: 0, batchFailure: null }]),
    );
    if (batchIds.length === 0) return counts;
    const [done, failed] = await Promise.all([
      this.db.prisma.audioFile.groupBy({
        by: ['batchId'],
        where: { batchId: { in: batchIds } },
        _count: { _all: true },
      }),
      this.db.prisma.$queryRaw<
        { batchId: string; files: number; refused: number; code: string | null; message: string | null }[]
      >`
        SELECT f.batch_id AS "batchId",
               count(DISTINCT f.entry) FILTER (WHERE f.entry <> '' AND a.id IS NULL)::int AS files,
               count(DISTINCT f.entry) FILTER (WHERE f.entry <> '' AND f.stage = 'unpack')::int AS refused,
               min(f.reason_code) FILTER (WHERE f.entry = '') AS code,
               min(f.message) FILTER (WHERE f.entry = '') AS message
        FROM processing_failures f
        LEFT JOIN audio_files a ON a.batch_id = f.batch_id AND a.original_filename = f.entry
        WHERE f.batch_id IN (${Prisma.join(batchIds)})
        GROUP BY f.batch_id`,
    ]);
    for (const d of done) counts.get(d.batchId)!.filesDone = d._count._all;
    for (const f of failed) {
      const c = counts.get(f.batchId)!;
      c.filesFailed = f.files;
      c.entriesRefused = f.refused;
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
