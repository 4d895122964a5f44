import type { KeepJobs, WorkerOptions } from 'bullmq';
import { durationFromEnv, envConfig, fromEnv, integerFromEnv, readEnv } from '@audio/config';

const DAY_MS = 24 * 3_600_000;

const tuningEnv = envConfig({
  lockDuration: fromEnv('JOB_LOCK_DURATION', durationFromEnv.default(30_000), '30s'),
  stalledInterval: fromEnv('STALLED_INTERVAL', durationFromEnv.default(30_000), '30s'),
  maxStalledCount: fromEnv('MAX_STALLED_COUNT', integerFromEnv(0, 100).default(2), '2'),
  keepCompletedMs: fromEnv('JOB_KEEP_COMPLETED_AGE', durationFromEnv.default(DAY_MS), '24h'),
  keepCompletedCount: fromEnv('JOB_KEEP_COMPLETED_COUNT', integerFromEnv(0).default(100_000), '100000'),
  keepFailedMs: fromEnv('JOB_KEEP_FAILED_AGE', durationFromEnv.default(7 * DAY_MS), '7d'),
  keepFailedCount: fromEnv('JOB_KEEP_FAILED_COUNT', integerFromEnv(0).optional(), '100000'),
  /** How often each worker is checked for taking no job while jobs wait (`StageWorkers`). */
  fetchWatchdogInterval: fromEnv('FETCH_WATCHDOG_INTERVAL', durationFromEnv.default(15_000), '15s'),
}).transform((e) => ({
  lockDuration: e.lockDuration,
  stalledInterval: e.stalledInterval,
  maxStalledCount: e.maxStalledCount,
  removeOnComplete: keepJobs(e.keepCompletedMs, e.keepCompletedCount),
  removeOnFail: keepJobs(e.keepFailedMs, e.keepFailedCount),
  fetchWatchdogInterval: e.fetchWatchdogInterval,
}));

/** BullMQ counts ages in seconds. */
function keepJobs(ageMs: number, count: number | undefined): KeepJobs {
  return { age: Math.ceil(ageMs / 1000), ...(count !== undefined ? { count } : {}) };
}

/**
 * The options every stage worker shares: how soon a dead worker's jobs come back, and how long
 * finished jobs stay in Redis.
 */
export type WorkerTuning = Required<
  Pick<
    WorkerOptions,
    'lockDuration' | 'stalledInterval' | 'maxStalledCount' | 'removeOnComplete' | 'removeOnFail'
  >
> & {
  /** Not a BullMQ option: how often StageWorkers' fetch watchdog looks (FETCH_WATCHDOG_INTERVAL). */
  fetchWatchdogInterval?: number;
};

/** The retention of finished jobs when nothing is configured (the defaults of the variables below). */
export const DEFAULT_JOB_RETENTION: Pick<WorkerTuning, 'removeOnComplete' | 'removeOnFail'> = {
  removeOnComplete: keepJobs(DAY_MS, 100_000),
  removeOnFail: keepJobs(7 * DAY_MS, undefined),
};

/**
 * - How soon the jobs of a dead worker come back: a job whose lock is not renewed within
 *   `lockDuration` is found by the next stalled check and moved back to waiting (up to
 *   `maxStalledCount` times, then it fails).
 * - Retention, which bounds Redis' memory: a worker that finishes a job removes the finished jobs of
 *   its queue older than the age or beyond the newest `count` (JOB_KEEP_COMPLETED_AGE/_COUNT, default a
 *   day and 100000 per queue: the dashboard shows recent work, Postgres is the record;
 *   JOB_KEEP_FAILED_AGE/_COUNT, default a week and no cap, so that operators can inspect and retry
 *   them in Bull Board). It is the worker's option, not the job's, so that one setting per host applies
 *   to every job it finishes, whoever queued it.
 */
export function readWorkerTuning(env: NodeJS.ProcessEnv = process.env): WorkerTuning {
  return readEnv(tuningEnv, env);
}

/** Shown as `processedBy` on every job a worker takes: which process on which host did the work. */
export function workerName(app: string, hostId: string): string {
  return `${app}@${hostId}/${process.pid}`;
}
