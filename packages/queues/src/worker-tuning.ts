import type { WorkerOptions } from 'bullmq';
import { z } from 'zod';
import { durationFromEnv, envVar, integerFromEnv, readEnv } from '@audio/config';

const tuningEnv = z
  .object({
    JOB_LOCK_DURATION: envVar(durationFromEnv.default(30_000), '30s'),
    STALLED_INTERVAL: envVar(durationFromEnv.default(30_000), '30s'),
    MAX_STALLED_COUNT: envVar(integerFromEnv(0, 100).default(2), '2'),
  })
  .transform((e): Pick<WorkerOptions, 'lockDuration' | 'stalledInterval' | 'maxStalledCount'> => ({
    lockDuration: e.JOB_LOCK_DURATION,
    stalledInterval: e.STALLED_INTERVAL,
    maxStalledCount: e.MAX_STALLED_COUNT,
  }));

export type WorkerTuning = z.output<typeof tuningEnv>;

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
