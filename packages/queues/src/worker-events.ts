import type { Worker } from 'bullmq';
import type { Logger } from '@audio/logger';

/** One log line per failed attempt and per worker error, the same in every app. */
export function logWorkerEvents(worker: Worker, logger: Logger): void {
  worker.on('failed', (job, error) =>
    logger.warn(
      { queue: worker.name, jobId: job?.id, attempts: job?.attemptsMade, err: error.message },
      'job failed',
    ),
  );
  worker.on('error', (error) => logger.error({ queue: worker.name, err: error }, 'worker error'));
}
