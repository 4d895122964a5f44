import { Worker, type ConnectionOptions, type Job } from 'bullmq';
import { failureOf, PipelineError, toJobError, type FailureContext } from './pipeline-failure.js';
import { parseStagePayload, stageQueueName, STAGES, type StageName, type StagePayload } from './stages.js';
import { DEFAULT_JOB_RETENTION, workerName, type WorkerTuning } from './worker-tuning.js';

/** What a stage does with one job; its payload already parsed with the stage's schema. */
export type StageHandler<S extends StageName> = (payload: StagePayload<S>, job: Job) => Promise<unknown>;

export interface StageWorkerOptions {
  connection: ConnectionOptions;
  prefix: string;
  /** This host: names host-affine queues and the worker (`processedBy`). */
  hostId: string;
  tuning?: WorkerTuning;
  concurrency: number;
  /** false: the caller starts it with `worker.run()` (e.g. a gate deciding when this host takes work). */
  autorun?: boolean;
}

/**
 * The one way to run a stage: a BullMQ worker on the stage's queue that parses each job's data with the
 * stage's schema, runs the handler, and turns whatever it throws into a failure (code, stage, entry,
 * message, retryable, attempts) that BullMQ stores as the job's reason: retried while it is retryable
 * and attempts are left, final otherwise.
 */
export function createStageWorker<S extends StageName>(
  stage: S,
  handler: StageHandler<S>,
  options: StageWorkerOptions,
): Worker {
  const queueName = stageQueueName(stage, options.hostId);
  const definition = STAGES[stage];
  // Not a BullMQ option: StageWorkers' own watchdog reads it.
  const { fetchWatchdogInterval: _watchdog, ...workerTuning } = options.tuning ?? {};
  return new Worker(
    queueName,
    async (job: Job) => {
      const context = { stage, entry: entryOf(job.data), attempts: job.attemptsMade + 1 };
      let payload: StagePayload<S>;
      try {
        payload = parseStagePayload(stage, job.data, `${queueName}/${job.id}`);
      } catch (error) {
        throw jobError(new PipelineError('invalid_payload', (error as Error).message), context);
      }
      context.entry = (definition.entryOf as (p: StagePayload<S>) => string)(payload);
      try {
        return await handler(payload, job);
      } catch (error) {
        throw jobError(error, context);
      }
    },
    {
      ...DEFAULT_JOB_RETENTION,
      ...workerTuning,
      name: workerName(stage, options.hostId),
      connection: options.connection,
      prefix: options.prefix,
      concurrency: options.concurrency,
      autorun: options.autorun ?? true,
    },
  );
}

/** The failure as BullMQ stores it, with the stack of where it happened (Bull Board shows it). */
function jobError(error: unknown, context: FailureContext): Error {
  const wrapped = toJobError(failureOf(error, context));
  const frames =
    error instanceof Error ? (error.stack ?? '').split('\n').filter((l) => /^\s+at /.test(l)) : [];
  if (frames.length > 0) wrapped.stack = [`${wrapped.name}: ${wrapped.message}`, ...frames].join('\n');
  return wrapped;
}

/** The entry of data that did not parse, when it names one. */
function entryOf(data: unknown): string {
  const entry = (data as { entry?: unknown } | null)?.entry;
  return typeof entry === 'string' ? entry : '';
}
