import type { Worker } from 'bullmq';
import type { Logger } from '@audio/logger';
import { decodeFailure } from './pipeline-failure.js';

/** One log line per failed attempt (the failure's fields, not its JSON) and per worker error. */
export function logWorkerEvents(worker: Worker, logger: Logger): void {
  worker.on('failed', (job, error) => {
    const { code, stage, entry, retryable, message } = decodeFailure(error.message);
    logger.warn(
      {
        queue: worker.name,
        jobId: job?.id,
        attempts: job?.attemptsMade,
        code,
        stage,
        entry,
        retryable,
        err: message,
      },
      'job failed',
    );
  });
  worker.on('error', (error) => logger.error({ queue: worker.name, err: error }, 'worker error'));
}
