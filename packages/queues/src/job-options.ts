import type { DefaultJobOptions } from 'bullmq';

const DAY_SECONDS = 24 * 3600;

/**
 * Retention: completed jobs are kept a day (the dashboard shows recent work; Postgres is the record),
 * failed ones a week so that operators can inspect and retry them in Bull Board.
 */
const retention = {
  removeOnComplete: { age: DAY_SECONDS, count: 100_000 },
  removeOnFail: { age: 7 * DAY_SECONDS },
} satisfies DefaultJobOptions;

export const JOB_OPTIONS = {
  unpack: { ...retention, attempts: 3, backoff: { type: 'exponential', delay: 30_000 } },
  convert: { ...retention, attempts: 2, backoff: { type: 'exponential', delay: 2_000 } },
  transcribe: { ...retention, attempts: 4, backoff: { type: 'exponential', delay: 5_000 } },
  finalize: { ...retention, attempts: 5, backoff: { type: 'exponential', delay: 10_000 } },
} as const satisfies Record<string, DefaultJobOptions>;
