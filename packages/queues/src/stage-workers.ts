import type { Worker } from 'bullmq';
import type { Logger } from '@audio/logger';
import { createStageWorker, type StageHandler, type StageWorkerOptions } from './stage-worker.js';
import { stageQueueName, type StageName } from './stages.js';
import { logWorkerEvents } from './worker-events.js';

/** A stage an app registers: its handler and how many jobs it runs at once. */
export interface StageRegistration<S extends StageName> {
  handle: StageHandler<S>;
  concurrency: number;
  autorun?: boolean;
}

/** Handlers by stage name; an app registers the stages it serves. */
export type StageHandlers = { [S in StageName]?: StageRegistration<S> };

export interface StageWorkersOptions extends Omit<StageWorkerOptions, 'concurrency' | 'autorun'> {
  logger: Logger;
  /** Called with each worker as it is made (metrics). */
  onWorker?: (worker: Worker) => void;
}

/** A stage an app serves without a handler for it (or the other way round): the app must not start. */
export class MissingHandlerError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MissingHandlerError';
  }
}

/**
 * The workers of one app process: one per stage it serves, each from `createStageWorker`, with the same
 * logging. Starting fails loudly when a served stage has no handler or a handler has no served stage,
 * before any worker takes a job.
 */
export class StageWorkers {
  private readonly workers = new Map<StageName, Worker>();
  private active = 0;

  constructor(serves: readonly StageName[], handlers: StageHandlers, options: StageWorkersOptions) {
    const missing = serves.filter((stage) => !handlers[stage]);
    const extra = (Object.keys(handlers) as StageName[]).filter((stage) => !serves.includes(stage));
    if (missing.length > 0 || extra.length > 0) {
      const names = (stages: StageName[]) =>
        stages.map((s) => `${s} (queue ${stageQueueName(s, options.hostId)})`).join(', ');
      throw new MissingHandlerError(
        [
          missing.length ? `no handler for the stages this app serves: ${names(missing)}` : '',
          extra.length ? `handlers for stages it does not serve: ${names(extra)}` : '',
        ]
          .filter(Boolean)
          .join('; '),
      );
    }
    for (const stage of serves) {
      const registration = handlers[stage] as StageRegistration<typeof stage>;
      const worker = createStageWorker(stage, registration.handle, {
        ...options,
        concurrency: registration.concurrency,
        ...(registration.autorun !== undefined ? { autorun: registration.autorun } : {}),
      });
      worker.on('active', () => (this.active += 1));
      worker.on('completed', () => (this.active -= 1));
      worker.on('failed', (job) => {
        if (job) this.active -= 1;
      });
      logWorkerEvents(worker, options.logger);
      options.onWorker?.(worker);
      this.workers.set(stage, worker);
    }
  }

  /** The worker of a stage this app serves. */
  get(stage: StageName): Worker {
    const worker = this.workers.get(stage);
    if (!worker) throw new Error(`this app does not serve stage ${stage}`);
    return worker;
  }

  /** The queues these workers take jobs from (the heartbeat lists them for the dashboard). */
  get queueNames(): string[] {
    return [...this.workers.values()].map((w) => w.name);
  }

  /** Jobs running in this process now. */
  get activeJobs(): number {
    return Math.max(0, this.active);
  }

  /** Stops taking jobs and waits for the running ones (or not, when forced). */
  async close(force = false): Promise<void> {
    await Promise.all([...this.workers.values()].map((w) => w.close(force)));
  }
}
