import type { Db } from './db.js';
import { Prisma, type BatchStatus, type FailureStage } from './generated/prisma/client.js';
import { DbInputError } from './errors.js';

// The operators' checks, as typed functions; infra/monitoring.sql has the same queries for psql.
// Every window ends at `now` (default: the database's clock) so that a test can pin the time.

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;

export interface StatusCount {
  status: BatchStatus;
  batches: number;
}

export interface StuckBatch {
  batchId: string;
  status: BatchStatus;
  host: string | null;
  archiveKey: string;
  transferredAt: Date;
  ageSeconds: number;
}

export interface FailureReasonCount {
  stage: FailureStage;
  reasonCode: string;
  failures: number;
  batches: number;
  lastSeenAt: Date;
}

export interface HourlyCount {
  /** Start of the hour (UTC). */
  hour: Date;
  files: number;
}

export interface HostCount {
  /** The host that unpacked the batch (and so processed its files); null if none was recorded. */
  host: string | null;
  files: number;
  batches: number;
}

/** Transfer → complete latency of the batches completed in the window, in seconds (null when none). */
export interface LatencyPercentiles {
  batches: number;
  p50Seconds: number | null;
  p90Seconds: number | null;
  p99Seconds: number | null;
  maxSeconds: number | null;
}

export interface NoonTargetReport {
  /** The day checked: the date of `now` in the time zone, YYYY-MM-DD. */
  date: string;
  timeZone: string;
  cutoffAt: Date;
  deadlineAt: Date;
  deadlinePassed: boolean;
  /** Batches transferred before the cutoff (within the lookback). */
  batchesDue: number;
  /** Of those, complete at the deadline (or now, before the deadline). */
  batchesComplete: number;
  /** Due batches not complete at the deadline (or now), oldest transfer first. */
  lateBatchIds: string[];
  /** True when every due batch is complete by the deadline; before it: so far. */
  met: boolean;
  /** Flagged items waiting in the review queue now. */
  flaggedWaiting: number;
  /**
   * Batches of the same window that failed as a whole (a truncated archive…): not due, since they can
   * never complete by themselves; a replay puts them back into the pipeline and so into the target.
   */
  failedBatchIds: string[];
}

export interface NoonBacklog {
  cutoffAt: Date;
  deadlineAt: Date;
  /** Due batches (as in noonTarget) neither complete nor failed now. */
  batches: number;
  /** Files of unpacked due batches with no row and no failure yet. */
  filesRemaining: number;
  /** Due batches whose file count is not known yet (not unpacked). */
  batchesNotUnpacked: number;
  bytesNotUnpacked: number;
  /** Archive bytes per file of the batches completed in the last 7 days; null without history. */
  bytesPerFile: number | null;
}

export interface HostThroughput {
  host: string;
  /** Files recorded in the window. */
  files: number;
  /** Of those, the ones timed: written less than `idleGapMs` after the host's previous write. */
  timedFiles: number;
  /** The time those took: the host's busy time in the window, idle gaps left out. */
  busySeconds: number;
  /** timedFiles / busySeconds, or null when nothing could be timed. */
  filesPerSecond: number | null;
}

export interface FlaggedWaiting {
  waiting: number;
  /** Of those, leased to a reviewer right now. */
  assigned: number;
  /** Of those, without an Opus copy yet (cannot be reviewed). */
  withoutOpusKey: number;
}

export interface OldestUnreviewed {
  audioFileId: string;
  batchId: string;
  originalFilename: string;
  flaggedAt: Date;
  ageSeconds: number;
}

export interface FileWithoutOpusKey {
  audioFileId: string;
  batchId: string;
  originalFilename: string;
  createdAt: Date;
}

export interface PolicyLabelRate {
  policyId: string;
  policyVersion: string;
  classified: number;
  flagged: number;
  notFlagged: number;
  /** flagged / classified */
  flaggedRate: number;
}

export interface ReviewerDayCount {
  /** YYYY-MM-DD in the requested time zone. */
  day: string;
  username: string;
  reviews: number;
}

export interface RecentFailures {
  sinceMs: number;
  /** Batches that failed as a whole in the window, newest first. */
  failedBatches: { batchId: string; errorCode: string | null; failedAt: Date }[];
  /** Entries that failed in the window and have no results (refused ones included). */
  filesFailed: number;
  batchesWithFailedFiles: number;
}

interface Window {
  /** End of the window; default: the database's now(). */
  now?: Date;
}

/** Today's noon target: its time zone, cutoff and deadline (HH:MM local), lookback. */
export interface NoonWindow extends Window {
  timeZone: string;
  cutoff?: string;
  deadline?: string;
  lookbackMs?: number;
}

export class MonitoringQueries {
  constructor(private readonly db: Db) {}

  /** Every status with its count, zeros included, in lifecycle order. */
  batchesByStatus(): Promise<StatusCount[]> {
    return this.db.prisma.$queryRaw<StatusCount[]>`
      SELECT s.status::text AS status, count(b.batch_id)::int AS batches
      FROM unnest(enum_range(NULL::batch_status)) AS s(status)
      LEFT JOIN batches b ON b.status = s.status
      GROUP BY s.status
      ORDER BY s.status`;
  }

  /** Batches neither complete nor failed this long after their transfer (default 2 h), oldest first. */
  stuckBatches(options: { olderThanMs?: number } & Window = {}): Promise<StuckBatch[]> {
    const olderThanMs = duration(options.olderThanMs ?? 2 * HOUR_MS, 'olderThanMs');
    return this.db.prisma.$queryRaw<StuckBatch[]>`
      WITH t AS (SELECT coalesce(${options.now ?? null}::timestamptz, now()) AS now)
      SELECT b.batch_id AS "batchId", b.status::text AS status, b.host, b.archive_key AS "archiveKey",
             b.transferred_at AS "transferredAt",
             extract(epoch FROM t.now - b.transferred_at)::float8 AS "ageSeconds"
      FROM batches b, t
      WHERE b.status NOT IN ('complete', 'failed')
        AND b.transferred_at < t.now - ${olderThanMs}::float8 * interval '1 millisecond'
      ORDER BY b.transferred_at, b.batch_id`;
  }

  /** Failures recorded or updated in the window (default 24 h), by stage and reason, most frequent first. */
  failuresByReason(options: { sinceMs?: number } & Window = {}): Promise<FailureReasonCount[]> {
    const sinceMs = duration(options.sinceMs ?? DAY_MS, 'sinceMs');
    return this.db.prisma.$queryRaw<FailureReasonCount[]>`
      WITH t AS (SELECT coalesce(${options.now ?? null}::timestamptz, now()) AS now)
      SELECT f.stage::text AS stage, f.reason_code AS "reasonCode", count(*)::int AS failures,
             count(DISTINCT f.batch_id)::int AS batches, max(f.updated_at) AS "lastSeenAt"
      FROM processing_failures f, t
      WHERE f.updated_at >= t.now - ${sinceMs}::float8 * interval '1 millisecond' AND f.updated_at <= t.now
      GROUP BY f.stage, f.reason_code
      ORDER BY failures DESC, f.stage, f.reason_code`;
  }

  /** Audio files recorded per hour (UTC) for the last `hours` hours (default 24), the current hour last; zeros included. */
  filesPerHour(options: { hours?: number } & Window = {}): Promise<HourlyCount[]> {
    const hours = wholeNumber(options.hours ?? 24, 'hours', 1, 24 * 366);
    return this.db.prisma.$queryRaw<HourlyCount[]>`
      WITH t AS (SELECT coalesce(${options.now ?? null}::timestamptz, now()) AS now),
      h AS (
        SELECT generate_series(
                 date_trunc('hour', t.now, 'UTC') - (${hours}::int - 1) * interval '1 hour',
                 date_trunc('hour', t.now, 'UTC'),
                 interval '1 hour') AS hour
        FROM t
      )
      SELECT h.hour, count(a.id)::int AS files
      FROM h CROSS JOIN t
      LEFT JOIN audio_files a
        ON a.created_at >= h.hour AND a.created_at < h.hour + interval '1 hour' AND a.created_at <= t.now
      GROUP BY h.hour
      ORDER BY h.hour`;
  }

  /** Audio files recorded in the window (default 24 h) per processing host, busiest first. */
  filesPerHost(options: { sinceMs?: number } & Window = {}): Promise<HostCount[]> {
    const sinceMs = duration(options.sinceMs ?? DAY_MS, 'sinceMs');
    return this.db.prisma.$queryRaw<HostCount[]>`
      WITH t AS (SELECT coalesce(${options.now ?? null}::timestamptz, now()) AS now)
      SELECT b.host, count(*)::int AS files, count(DISTINCT b.batch_id)::int AS batches
      FROM audio_files a JOIN batches b ON b.batch_id = a.batch_id, t
      WHERE a.created_at >= t.now - ${sinceMs}::float8 * interval '1 millisecond' AND a.created_at <= t.now
      GROUP BY b.host
      ORDER BY files DESC, b.host NULLS LAST`;
  }

  /** Transfer → complete latency of batches completed in the window (default 24 h); continuous percentiles. */
  async latencyPercentiles(options: { sinceMs?: number } & Window = {}): Promise<LatencyPercentiles> {
    const sinceMs = duration(options.sinceMs ?? DAY_MS, 'sinceMs');
    const rows = await this.db.prisma.$queryRaw<LatencyPercentiles[]>`
      WITH t AS (SELECT coalesce(${options.now ?? null}::timestamptz, now()) AS now),
      l AS (
        SELECT extract(epoch FROM b.completed_at - b.transferred_at)::float8 AS s
        FROM batches b, t
        WHERE b.status = 'complete'
          AND b.completed_at >= t.now - ${sinceMs}::float8 * interval '1 millisecond' AND b.completed_at <= t.now
      )
      SELECT count(*)::int AS batches,
             percentile_cont(0.5) WITHIN GROUP (ORDER BY s) AS "p50Seconds",
             percentile_cont(0.9) WITHIN GROUP (ORDER BY s) AS "p90Seconds",
             percentile_cont(0.99) WITHIN GROUP (ORDER BY s) AS "p99Seconds",
             max(s) AS "maxSeconds"
      FROM l`;
    return rows[0]!;
  }

  /**
   * The noon target: every batch transferred before the cutoff (default 06:00) of today, in `timeZone`,
   * is complete by the deadline (default 12:00) of today. Batches transferred more than `lookbackMs`
   * (default 7 days) before the cutoff are not counted, so that one abandoned batch does not fail every
   * later day. A batch that failed as a whole (a truncated archive…) is not due: it cannot complete by
   * itself, and counting it would fail every check of the lookback; it is listed in `failedBatchIds`,
   * and a replay (which moves it back to `unpacking`) makes it due again. Also reports how many
   * flagged items wait for review.
   */
  async noonTarget(options: NoonWindow): Promise<NoonTargetReport> {
    const { timeZone, lookbackMs, day } = noonDay(options);
    const rows = await this.db.prisma.$queryRaw<NoonTargetReport[]>`
      WITH ${day},
      scope AS (
        SELECT b.batch_id, b.transferred_at, b.status,
               -- The first completion counts: a replay after it (which keeps completed_at) changes nothing.
               (b.completed_at IS NOT NULL AND b.completed_at <= least(d.now, d.deadline_at)) AS complete
        FROM batches b, d
        WHERE b.transferred_at < d.cutoff_at
          AND b.transferred_at >= d.cutoff_at - ${lookbackMs}::float8 * interval '1 millisecond'
      ),
      due AS (SELECT * FROM scope WHERE status <> 'failed' OR complete)
      SELECT d.day::text AS date, ${timeZone}::text AS "timeZone", d.cutoff_at AS "cutoffAt",
             d.deadline_at AS "deadlineAt", d.now >= d.deadline_at AS "deadlinePassed",
             (SELECT count(*)::int FROM due) AS "batchesDue",
             (SELECT count(*)::int FROM due WHERE complete) AS "batchesComplete",
             array(SELECT batch_id FROM due WHERE NOT complete ORDER BY transferred_at, batch_id) AS "lateBatchIds",
             NOT EXISTS (SELECT 1 FROM due WHERE NOT complete) AS met,
             (SELECT count(*)::int FROM ra_queue) AS "flaggedWaiting",
             array(SELECT batch_id FROM scope WHERE status = 'failed' AND NOT complete ORDER BY transferred_at, batch_id)
               AS "failedBatchIds"
      FROM d`;
    return rows[0]!;
  }

  /**
   * What is left of today's noon target now: the due batches (as in noonTarget) neither complete nor
   * failed, their files without a row or a failure, and for batches not unpacked yet their archive
   * bytes with the recent bytes per file to estimate their files from.
   */
  async noonBacklog(options: NoonWindow): Promise<NoonBacklog> {
    const { lookbackMs, day } = noonDay(options);
    const rows = await this.db.prisma.$queryRaw<NoonBacklog[]>`
      WITH ${day},
      due AS (
        SELECT b.batch_id, b.file_count, b.size_bytes
        FROM batches b, d
        WHERE b.transferred_at < d.cutoff_at
          AND b.transferred_at >= d.cutoff_at - ${lookbackMs}::float8 * interval '1 millisecond'
          AND b.status NOT IN ('complete', 'failed') AND b.completed_at IS NULL
      ),
      progress AS (
        SELECT due.batch_id, due.file_count, due.size_bytes,
               (SELECT count(*) FROM audio_files a WHERE a.batch_id = due.batch_id) AS done,
               (SELECT count(DISTINCT f.entry) FROM processing_failures f
                 WHERE f.batch_id = due.batch_id AND f.entry <> '') AS failed
        FROM due
      ),
      history AS (
        SELECT sum(b.size_bytes)::float8 / nullif(sum(b.file_count), 0) AS bytes_per_file
        FROM batches b, d
        WHERE b.status = 'complete' AND b.file_count > 0
          AND b.completed_at >= d.now - interval '7 days' AND b.completed_at <= d.now
      )
      SELECT d.cutoff_at AS "cutoffAt", d.deadline_at AS "deadlineAt",
             (SELECT count(*)::int FROM progress) AS batches,
             (SELECT coalesce(sum(greatest(0, file_count - done - failed)), 0)::int FROM progress
               WHERE file_count IS NOT NULL) AS "filesRemaining",
             (SELECT count(*)::int FROM progress WHERE file_count IS NULL) AS "batchesNotUnpacked",
             (SELECT coalesce(sum(size_bytes), 0)::float8 FROM progress WHERE file_count IS NULL)
               AS "bytesNotUnpacked",
             history.bytes_per_file AS "bytesPerFile"
      FROM d, history`;
    return rows[0]!;
  }

  /**
   * Each processing host's measured rate over the window (default 1 h): files recorded per second of
   * busy time. Rows are grouped by write instant (a transcribe batch's rows share one); the gap before
   * each group is the time its files took, unless it exceeds `idleGapMs` (default 5 min): then the
   * host was idle, and that group starts a new run without being timed.
   */
  async hostThroughput(
    options: { windowMs?: number; idleGapMs?: number } & Window = {},
  ): Promise<HostThroughput[]> {
    const windowMs = duration(options.windowMs ?? HOUR_MS, 'windowMs');
    const idleGapMs = duration(options.idleGapMs ?? 5 * 60_000, 'idleGapMs');
    const rows = await this.db.prisma.$queryRaw<Omit<HostThroughput, 'filesPerSecond'>[]>`
      WITH t AS (SELECT coalesce(${options.now ?? null}::timestamptz, now()) AS now),
      g AS (
        SELECT b.host, a.created_at, count(*)::int AS files
        FROM audio_files a JOIN batches b ON b.batch_id = a.batch_id, t
        WHERE b.host IS NOT NULL
          AND a.created_at > t.now - ${windowMs}::float8 * interval '1 millisecond' AND a.created_at <= t.now
        GROUP BY b.host, a.created_at
      ),
      s AS (
        SELECT host, files,
               extract(epoch FROM created_at - lag(created_at) OVER (PARTITION BY host ORDER BY created_at))::float8
                 AS gap
        FROM g
      )
      SELECT host, sum(files)::int AS files,
             coalesce(sum(files) FILTER (WHERE gap <= ${idleGapMs / 1000}::float8), 0)::int AS "timedFiles",
             coalesce(sum(gap) FILTER (WHERE gap <= ${idleGapMs / 1000}::float8), 0)::float8 AS "busySeconds"
      FROM s
      GROUP BY host
      ORDER BY host`;
    return rows.map((r) => ({
      ...r,
      filesPerSecond: r.busySeconds > 0 ? r.timedFiles / r.busySeconds : null,
    }));
  }

  /** Flagged items in the review queue. */
  async flaggedWaiting(): Promise<FlaggedWaiting> {
    const rows = await this.db.prisma.$queryRaw<FlaggedWaiting[]>`
      SELECT count(*)::int AS waiting,
             count(assigned_reviewer_id)::int AS assigned,
             count(*) FILTER (WHERE s3_opus_path IS NULL)::int AS "withoutOpusKey"
      FROM ra_queue`;
    return rows[0]!;
  }

  /** The flagged item that has waited longest for review, or null when the queue is empty. */
  async oldestUnreviewedFlagged(options: Window = {}): Promise<OldestUnreviewed | null> {
    const rows = await this.db.prisma.$queryRaw<OldestUnreviewed[]>`
      SELECT q.audio_file_id::text AS "audioFileId", q.batch_id AS "batchId",
             q.original_filename AS "originalFilename", q.flagged_at AS "flaggedAt",
             extract(epoch FROM coalesce(${options.now ?? null}::timestamptz, now()) - q.flagged_at)::float8
               AS "ageSeconds"
      FROM ra_queue q
      ORDER BY q.flagged_at, q.audio_file_id
      LIMIT 1`;
    return rows[0] ?? null;
  }

  /**
   * Audio files whose Opus copy is not recorded, ignoring those younger than `olderThanMs` (default
   * 10 min: the upload follows the database write). `count` is all of them, `files` the oldest `limit`.
   */
  async filesWithoutOpusKey(
    options: { olderThanMs?: number; limit?: number } & Window = {},
  ): Promise<{ count: number; files: FileWithoutOpusKey[] }> {
    const olderThanMs = duration(options.olderThanMs ?? 10 * 60_000, 'olderThanMs');
    const limit = wholeNumber(options.limit ?? 100, 'limit', 0, 10_000);
    const before = this.db.prisma.$queryRaw<{ count: number }[]>`
      SELECT count(*)::int AS count FROM audio_files
      WHERE s3_opus_path IS NULL
        AND created_at <= coalesce(${options.now ?? null}::timestamptz, now())
                          - ${olderThanMs}::float8 * interval '1 millisecond'`;
    const files = this.db.prisma.$queryRaw<FileWithoutOpusKey[]>`
      SELECT id::text AS "audioFileId", batch_id AS "batchId", original_filename AS "originalFilename",
             created_at AS "createdAt"
      FROM audio_files
      WHERE s3_opus_path IS NULL
        AND created_at <= coalesce(${options.now ?? null}::timestamptz, now())
                          - ${olderThanMs}::float8 * interval '1 millisecond'
      ORDER BY created_at, id
      LIMIT ${limit}`;
    const [countRows, fileRows] = await Promise.all([before, files]);
    return { count: countRows[0]!.count, files: fileRows };
  }

  /** Per policy id and version: files classified in the window (default 24 h) and the share flagged. */
  classificationRateByLabel(options: { sinceMs?: number } & Window = {}): Promise<PolicyLabelRate[]> {
    const sinceMs = duration(options.sinceMs ?? DAY_MS, 'sinceMs');
    return this.db.prisma.$queryRaw<PolicyLabelRate[]>`
      WITH t AS (SELECT coalesce(${options.now ?? null}::timestamptz, now()) AS now)
      SELECT c.policy_id AS "policyId", c.policy_version AS "policyVersion",
             count(*)::int AS classified,
             count(*) FILTER (WHERE c.flagged)::int AS flagged,
             count(*) FILTER (WHERE NOT c.flagged)::int AS "notFlagged",
             (count(*) FILTER (WHERE c.flagged))::float8 / count(*) AS "flaggedRate"
      FROM classifications c, t
      WHERE c.created_at >= t.now - ${sinceMs}::float8 * interval '1 millisecond' AND c.created_at <= t.now
      GROUP BY c.policy_id, c.policy_version
      ORDER BY c.policy_id, c.policy_version`;
  }

  /** Labels submitted per reviewer per local day, for the last `days` days (default 7) including today. */
  reviewsPerReviewerPerDay(
    options: { days?: number; timeZone?: string } & Window = {},
  ): Promise<ReviewerDayCount[]> {
    const days = wholeNumber(options.days ?? 7, 'days', 1, 3660);
    const timeZone = zone(options.timeZone ?? 'UTC');
    return this.db.prisma.$queryRaw<ReviewerDayCount[]>`
      WITH t AS (SELECT coalesce(${options.now ?? null}::timestamptz, now()) AS now)
      SELECT (l.created_at AT TIME ZONE ${timeZone}::text)::date::text AS day, u.username, count(*)::int AS reviews
      FROM ra_labels l JOIN ra_users u ON u.id = l.reviewer_id, t
      WHERE l.created_at >= (((t.now AT TIME ZONE ${timeZone}::text)::date - (${days}::int - 1)) AT TIME ZONE ${timeZone}::text)
        AND l.created_at <= t.now
      GROUP BY 1, u.username
      ORDER BY 1, u.username`;
  }

  /**
   * What failed in the window (default 24 h): batches that failed as a whole, and files that failed
   * (entries with a failure recorded or updated in the window and no results). Not an outage, but an
   * operator should look: /health reports it as `degraded`.
   */
  async recentFailures(options: { sinceMs?: number } & Window = {}): Promise<RecentFailures> {
    const sinceMs = duration(options.sinceMs ?? DAY_MS, 'sinceMs');
    const [batches, files] = await Promise.all([
      this.db.prisma.$queryRaw<RecentFailures['failedBatches']>`
        WITH t AS (SELECT coalesce(${options.now ?? null}::timestamptz, now()) AS now)
        SELECT b.batch_id AS "batchId", b.error_code AS "errorCode", b.failed_at AS "failedAt"
        FROM batches b, t
        WHERE b.status = 'failed' AND b.failed_at > t.now - ${sinceMs}::float8 * interval '1 millisecond'
        ORDER BY b.failed_at DESC, b.batch_id`,
      this.db.prisma.$queryRaw<{ files: number; batches: number }[]>`
        WITH t AS (SELECT coalesce(${options.now ?? null}::timestamptz, now()) AS now)
        SELECT count(DISTINCT (f.batch_id, f.entry))::int AS files, count(DISTINCT f.batch_id)::int AS batches
        FROM processing_failures f, t
        WHERE f.entry <> '' AND f.updated_at > t.now - ${sinceMs}::float8 * interval '1 millisecond'
          AND NOT EXISTS (SELECT 1 FROM audio_files a
                          WHERE a.batch_id = f.batch_id AND a.original_filename = f.entry)`,
    ]);
    return {
      sinceMs,
      failedBatches: batches,
      filesFailed: files[0]?.files ?? 0,
      batchesWithFailedFiles: files[0]?.batches ?? 0,
    };
  }
}

/** The CTEs `t` (now) and `d` (now, day, cutoff_at, deadline_at) of a noon query, options checked. */
function noonDay(options: NoonWindow): { timeZone: string; lookbackMs: number; day: Prisma.Sql } {
  const timeZone = zone(options.timeZone);
  const cutoff = timeOfDay(options.cutoff ?? '06:00', 'cutoff');
  const deadline = timeOfDay(options.deadline ?? '12:00', 'deadline');
  const lookbackMs = duration(options.lookbackMs ?? 7 * DAY_MS, 'lookbackMs');
  const day = Prisma.sql`t AS (SELECT coalesce(${options.now ?? null}::timestamptz, now()) AS now),
      d AS (
        SELECT t.now, x.day,
               (x.day + ${cutoff}::time) AT TIME ZONE ${timeZone}::text AS cutoff_at,
               (x.day + ${deadline}::time) AT TIME ZONE ${timeZone}::text AS deadline_at
        FROM t, LATERAL (SELECT (t.now AT TIME ZONE ${timeZone}::text)::date AS day) x
      )`;
  return { timeZone, lookbackMs, day };
}

function duration(ms: number, name: string): number {
  if (!Number.isFinite(ms) || ms < 0) {
    throw new DbInputError(name, `${name} must be a non-negative number of milliseconds, got ${ms}`);
  }
  return ms;
}

function wholeNumber(value: number, name: string, min: number, max: number): number {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new DbInputError(name, `${name} must be a whole number from ${min} to ${max}, got ${value}`);
  }
  return value;
}

/** An IANA zone name, checked here so that the error names the option rather than a SQL error. */
function zone(timeZone: string): string {
  try {
    new Intl.DateTimeFormat('en', { timeZone });
  } catch {
    throw new DbInputError(
      'timeZone',
      `timeZone must be an IANA time zone such as Europe/Berlin, got ${JSON.stringify(timeZone)}`,
    );
  }
  return timeZone;
}

function timeOfDay(value: string, name: string): string {
  if (!/^([01]\d|2[0-3]):[0-5]\d$/.test(value)) {
    throw new DbInputError(
      name,
      `${name} must be a time of day HH:MM such as 06:00, got ${JSON.stringify(value)}`,
    );
  }
  return value;
}
