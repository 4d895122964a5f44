import type { Job, Queue } from 'bullmq';
import {
  AudioFileRepository,
  BatchRepository,
  FailureRepository,
  type Batch,
  type BatchListFilter,
  type BatchRun,
  type BatchStatus,
  type Db,
  type ProcessingFailure,
} from '@audio/db';
import {
  batchJobIds,
  decodeFailure,
  hostQueueName,
  isHostId,
  type HostQueueKind,
  type StoredFailure,
} from '@audio/queues';
import type { QueueRegistry } from './queue-registry.js';

/** The batch's flow as BullMQ sees it: children of the finalize job (while Redis still has it). */
export interface FlowCounts {
  finalizeState: string;
  /** Children done (succeeded). */
  processed: number;
  /** Children still to run. */
  unprocessed: number;
  /** Children that failed for good (the flow ignores them so that finalize runs). */
  ignored: number;
}

export interface BatchSummary {
  batchId: string;
  status: BatchStatus;
  host: string | null;
  source: string;
  sizeBytes: number;
  transferredAt: Date;
  /** The first completion: a replay does not move it. */
  completedAt: Date | null;
  /** When the latest run failed the batch as a whole. */
  failedAt: Date | null;
  /** Files in the archive that unpack accepted, once it has counted them. */
  fileCount: number | null;
  /** Every entry of the archive (accepted files + refused entries); null until unpacked. */
  totalEntries: number | null;
  /** Files with results in Postgres. */
  filesDone: number;
  /** Archive entries with a recorded failure and no results (refused ones included). */
  filesFailed: number;
  /** Of those, entries unpack refused. */
  entriesRefused: number;
  /** A failure of the batch as a whole (entry ''), if any. */
  batchError: { code: string; message: string } | null;
  flow: FlowCounts | null;
}

/** One step of a file's processing, from BullMQ's job timestamps. */
export interface JobTiming {
  /** Where Bull Board shows the job. */
  queue: string;
  jobId: string;
  queuedAt: number;
  startedAt: number | null;
  finishedAt: number | null;
  attempts: number;
  /** Why the job's last attempt failed, as the worker recorded it. */
  failure: StoredFailure | null;
}

export interface BatchEntry {
  entry: string;
  outcome: 'ok' | 'flagged' | 'failed';
  audioFileId: string | null;
  durationSeconds: number | null;
  sizeBytes: number | null;
  score: number | null;
  policyIds: string[];
  language: string | null;
  transcriptPreview: string | null;
  opusKey: string | null;
  recordedAt: Date | null;
  failures: { stage: string; reasonCode: string; message: string; attempts: number; at: Date }[];
  convert: JobTiming | null;
  transcribe: JobTiming | null;
}

export interface BatchDetail {
  batch: BatchSummary & {
    archiveKey: string;
    sha256: string;
    unpackingAt: Date | null;
    unpackedAt: Date | null;
    succeededCount: number | null;
    failedCount: number | null;
  };
  entries: BatchEntry[];
  /** The batch's runs (first, replays, retries of failed files), first first. */
  runs: BatchRun[];
  /** Failures of the batch as a whole (entry ''). */
  batchFailures: ProcessingFailure[];
  /** False when Redis could not be read: the page then shows the database's view only. */
  jobsAvailable: boolean;
}

const MAX_JOB_LOOKUPS = 2000;
const PREVIEW_CHARS = 140;

/**
 * What the batch pages show: progress from Postgres (files with results, failures), and from BullMQ
 * what only the flow knows (children pending, per-file job timings) while the jobs are kept (a day).
 */
export class BatchOverview {
  private readonly batches: BatchRepository;
  private readonly files: AudioFileRepository;
  private readonly failures: FailureRepository;

  constructor(
    db: Db,
    private readonly queues: QueueRegistry,
  ) {
    this.batches = new BatchRepository(db);
    this.files = new AudioFileRepository(db);
    this.failures = new FailureRepository(db);
  }

  async list(options: BatchListFilter & { limit?: number; offset?: number } = {}): Promise<BatchSummary[]> {
    const rows = await this.batches.list(options);
    if (rows.length === 0) return [];
    const [counts, flows] = await Promise.all([
      this.batches.fileCounts(rows.map((b) => b.batchId)),
      Promise.all(rows.map((b) => this.flowCounts(b))),
    ]);
    return rows.map((b, i) => {
      const c = counts.get(b.batchId)!;
      return {
        ...summaryOf(b),
        totalEntries: b.fileCount === null ? null : b.fileCount + c.entriesRefused,
        filesDone: c.filesDone,
        filesFailed: c.filesFailed,
        entriesRefused: c.entriesRefused,
        batchError: batchErrorOf(b, c.batchFailure),
        flow: flows[i] ?? null,
      };
    });
  }

  /** Batches per status under the list's filter (its status aside). */
  countByStatus(filter: BatchListFilter): Promise<Record<BatchStatus, number>> {
    return this.batches.countByStatus({ ...filter, status: undefined });
  }

  async detail(batchId: string): Promise<BatchDetail | null> {
    const batch = await this.batches.get(batchId);
    if (!batch) return null;
    const [files, failures, flow, runs] = await Promise.all([
      this.files.listByBatchWithResults(batchId),
      this.failures.listByBatch(batchId),
      this.flowCounts(batch),
      this.batches.runs(batchId),
    ]);
    let timings = new Map<string, { convert: JobTiming | null; transcribe: JobTiming | null }>();
    let jobsAvailable = true;
    try {
      timings = await this.jobTimings(batch);
    } catch {
      jobsAvailable = false;
    }
    const entries = new Map<string, BatchEntry>();
    const entryOf = (name: string): BatchEntry => {
      let e = entries.get(name);
      if (!e) {
        const t = timings.get(name);
        e = {
          entry: name,
          outcome: 'ok',
          audioFileId: null,
          durationSeconds: null,
          sizeBytes: null,
          score: null,
          policyIds: [],
          language: null,
          transcriptPreview: null,
          opusKey: null,
          recordedAt: null,
          failures: [],
          convert: t?.convert ?? null,
          transcribe: t?.transcribe ?? null,
        };
        entries.set(name, e);
      }
      return e;
    };
    for (const file of files) {
      const e = entryOf(file.originalFilename);
      const flagged = file.classifications.filter((c) => c.flagged);
      const scores = (flagged.length ? flagged : file.classifications).map((c) => c.score);
      Object.assign(e, {
        outcome: flagged.length > 0 ? 'flagged' : 'ok',
        audioFileId: file.id,
        durationSeconds: file.durationSeconds,
        sizeBytes: Number(file.sizeBytes),
        score: scores.length ? Math.max(...scores) : null,
        policyIds: flagged.map((c) => `${c.policyId}@${c.policyVersion}`),
        language: file.transcript?.language ?? null,
        transcriptPreview: file.transcript ? preview(file.transcript.text) : null,
        opusKey: file.s3OpusPath,
        recordedAt: file.createdAt,
      });
    }
    const batchFailures: ProcessingFailure[] = [];
    for (const failure of failures) {
      if (failure.entry === '') {
        batchFailures.push(failure);
        continue;
      }
      const e = entryOf(failure.entry);
      if (!e.audioFileId) e.outcome = 'failed';
      e.failures.push({
        stage: failure.stage,
        reasonCode: failure.reasonCode,
        message: failure.message,
        attempts: failure.attempts,
        at: failure.updatedAt,
      });
    }
    const failedEntries = [...entries.values()].filter((e) => e.outcome === 'failed');
    const entriesRefused = new Set(
      failures.filter((f) => f.entry !== '' && f.stage === 'unpack').map((f) => f.entry),
    ).size;
    const first = batchFailures[0];
    return {
      batch: {
        ...summaryOf(batch),
        totalEntries: batch.fileCount === null ? null : batch.fileCount + entriesRefused,
        filesDone: files.length,
        filesFailed: failedEntries.length,
        entriesRefused,
        batchError: batchErrorOf(batch, first ? { code: first.reasonCode, message: first.message } : null),
        flow,
        archiveKey: batch.archiveKey,
        sha256: batch.sha256,
        unpackingAt: batch.unpackingAt,
        unpackedAt: batch.unpackedAt,
        succeededCount: batch.succeededCount,
        failedCount: batch.failedCount,
      },
      entries: [...entries.values()].sort((a, b) => a.entry.localeCompare(b.entry)),
      runs,
      batchFailures,
      jobsAvailable,
    };
  }

  /**
   * The convert and transcribe jobs of one archive entry (the batch's first run), for the file page;
   * `available` is false when Redis could not be read.
   */
  async entryJobs(
    batch: Batch,
    entry: string,
  ): Promise<{ convert: JobTiming | null; transcribe: JobTiming | null; available: boolean }> {
    try {
      const t = (await this.jobTimings(batch)).get(entry);
      return { convert: t?.convert ?? null, transcribe: t?.transcribe ?? null, available: true };
    } catch {
      return { convert: null, transcribe: null, available: false };
    }
  }

  /** The finalize job's children, for batches whose flow may still be running; null when unknown. */
  private async flowCounts(batch: Batch): Promise<FlowCounts | null> {
    const queue = this.hostQueue('finalize', batch.host);
    if (!queue) return null;
    try {
      const job = await queue.getJob(batchJobIds(batch.batchId, 0).finalize);
      if (!job) return null;
      const [state, counts] = await Promise.all([
        job.getState(),
        job.getDependenciesCount({ processed: true, unprocessed: true, ignored: true }),
      ]);
      return {
        finalizeState: state,
        processed: counts.processed ?? 0,
        unprocessed: counts.unprocessed ?? 0,
        ignored: counts.ignored ?? 0,
      };
    } catch {
      return null; // Redis unreachable: the page shows the database's view
    }
  }

  /**
   * Per-entry timings of the convert and transcribe jobs of the batch's first run, found through the
   * finalize job's children (job ids are deterministic: `{batchId}-{n}` and `{batchId}-{n}-convert`).
   */
  private async jobTimings(
    batch: Batch,
  ): Promise<Map<string, { convert: JobTiming | null; transcribe: JobTiming | null }>> {
    const result = new Map<string, { convert: JobTiming | null; transcribe: JobTiming | null }>();
    const finalize = this.hostQueue('finalize', batch.host);
    const transcribe = this.hostQueue('transcribe', batch.host);
    const convert = this.hostQueue('convert', batch.host);
    if (!finalize || !transcribe || !convert) return result;
    const parent = await finalize.getJob(batchJobIds(batch.batchId, 0).finalize);
    if (!parent) return result;
    const deps = await parent.getDependencies();
    const childKeys = [
      ...Object.keys(deps.processed ?? {}),
      ...Object.keys(deps.ignored ?? {}),
      ...(deps.unprocessed ?? []),
      ...(deps.failed ?? []),
    ].slice(0, MAX_JOB_LOOKUPS);
    const ids = childKeys.map((key) => key.slice(key.lastIndexOf(':') + 1));
    const jobs = await Promise.all(
      ids.map(async (id) => [await getJob(transcribe, id), await getJob(convert, `${id}-convert`)] as const),
    );
    for (const [t, c] of jobs) {
      const entry = ((t ?? c)?.data as { entry?: unknown } | undefined)?.entry;
      if (typeof entry !== 'string') continue;
      result.set(entry, { transcribe: timingOf(t), convert: timingOf(c) });
    }
    return result;
  }

  private hostQueue(kind: HostQueueKind, host: string | null): Queue | undefined {
    return host && isHostId(host) ? this.queues.add(hostQueueName(kind, host)) : undefined;
  }
}

async function getJob(queue: Queue, id: string): Promise<Job | undefined> {
  return (await queue.getJob(id)) ?? undefined;
}

function timingOf(job: Job | undefined): JobTiming | null {
  if (!job) return null;
  return {
    queue: job.queueName,
    jobId: job.id!,
    queuedAt: job.timestamp,
    startedAt: job.processedOn ?? null,
    finishedAt: job.finishedOn ?? null,
    attempts: job.attemptsMade,
    failure: job.failedReason ? decodeFailure(job.failedReason) : null,
  };
}

function summaryOf(
  b: Batch,
): Omit<
  BatchSummary,
  'totalEntries' | 'filesDone' | 'filesFailed' | 'entriesRefused' | 'batchError' | 'flow'
> {
  return {
    batchId: b.batchId,
    status: b.status,
    host: b.host,
    source: b.source,
    sizeBytes: Number(b.sizeBytes),
    transferredAt: b.transferredAt,
    completedAt: b.completedAt,
    failedAt: b.failedAt,
    fileCount: b.fileCount,
  };
}

function batchErrorOf(
  b: Batch,
  recorded: { code: string; message: string } | null,
): { code: string; message: string } | null {
  if (b.errorCode) return { code: b.errorCode, message: b.errorMessage ?? '' };
  return recorded;
}

function preview(text: string): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > PREVIEW_CHARS ? `${flat.slice(0, PREVIEW_CHARS - 1)}…` : flat;
}
