import type { WorkerOptions } from 'bullmq';
import type { z } from 'zod';
import { durationFromEnv, envConfig, fromEnv, integerFromEnv, readEnv } from '@audio/config';

const tuningEnv = envConfig({
  lockDuration: fromEnv('JOB_LOCK_DURATION', durationFromEnv.default(30_000), '30s'),
  stalledInterval: fromEnv('STALLED_INTERVAL', durationFromEnv.default(30_000), '30s'),
  maxStalledCount: fromEnv('MAX_STALLED_COUNT', integerFromEnv(0, 100).default(2), '2'),
  /** How often each worker is checked for taking no job while jobs wait (`StageWorkers`). */
  fetchWatchdogInterval: fromEnv('FETCH_WATCHDOG_INTERVAL', durationFromEnv.default(15_000), '15s'),
});

/** The worker options of every stage worker that say how soon a dead worker's jobs come back. */
export type WorkerTuning = z.output<typeof tuningEnv> &
  Pick<WorkerOptions, 'lockDuration' | 'stalledInterval' | 'maxStalledCount'>;

/**
 * How soon the jobs of a dead worker come back: a job whose lock is not renewed within
 * `lockDuration` is found by the next stalled check and moved back to waiting (up to
 * `maxStalledCount` times, then it fails).
 */
export function readWorkerTuning(env: NodeJS.ProcessEnv = process.env): WorkerTuning {
  return readEnv(tuningEnv, env);
}

/** Shown as `processedBy` on every job a worker takes: which process on which host did the work. */
export function workerName(app: string, hostId: string): string {
  return `${app}@${hostId}/${process.pid}`;
}
