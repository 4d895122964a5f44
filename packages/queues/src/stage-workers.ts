import { Queue, type Worker } from 'bullmq';
import type { Logger } from '@audio/logger';
import { FETCH_STRIKES_TO_REPLACE, nextFetchStrikes } from './fetch-watchdog.js';
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

/** How long a paused worker's main loop may take to end (its blocking call returns within ~6 s). */
const LOOP_END_GRACE_MS = 15_000;

/** One stage's worker now, with what the fetch watchdog counts of it. */
interface Served {
  worker: Worker;
  /** The stage's queue, to count the jobs waiting in it. */
  queue: Queue;
  running: number;
  /** Jobs started since the watchdog's last check. */
  started: number;
  strikes: number;
  /** Resolves once it runs no job. */
  idle(): Promise<void>;
}

/**
 * The workers of one app process: one per stage it serves, each from `createStageWorker`, with the same
 * logging. Starting fails loudly when a served stage has no handler or a handler has no served stage,
 * before any worker takes a job. A watchdog replaces a worker that stopped taking jobs while some wait
 * (see `nextFetchStrikes`: a worker left behind by a Redis failover).
 */
export class StageWorkers {
  private readonly served = new Map<StageName, Served>();
  /** Replaced workers still finishing their jobs: `close` waits for them too. */
  private readonly retiring = new Map<Served, Promise<void>>();
  private readonly watchdog: NodeJS.Timeout;
  private checking = false;
  private closed = false;

  constructor(
    serves: readonly StageName[],
    private readonly handlers: StageHandlers,
    private readonly options: StageWorkersOptions,
  ) {
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
      const queue = new Queue(stageQueueName(stage, options.hostId), {
        connection: options.connection,
        prefix: options.prefix,
      });
      queue.on('error', () => undefined); // the watchdog's counts: a failed one is retried at the next check
      const registration = handlers[stage] as StageRegistration<typeof stage>;
      this.served.set(stage, this.serve(stage, queue, registration.autorun ?? true));
    }
    this.watchdog = setInterval(() => void this.check(), options.tuning?.fetchWatchdogInterval ?? 15_000);
    this.watchdog.unref();
  }

  /** A new worker for `stage`, counted and logged; started unless `autorun` is false. */
  private serve(stage: StageName, queue: Queue, autorun: boolean): Served {
    const registration = this.handlers[stage] as StageRegistration<typeof stage>;
    const worker = createStageWorker(stage, registration.handle, {
      ...this.options,
      concurrency: registration.concurrency,
      autorun,
    });
    const idleNow: (() => void)[] = [];
    const finished = () => {
      served.running -= 1;
      if (served.running <= 0) for (const resolve of idleNow.splice(0)) resolve();
    };
    const served: Served = {
      worker,
      queue,
      running: 0,
      started: 0,
      strikes: 0,
      idle: () => (served.running <= 0 ? Promise.resolve() : new Promise((resolve) => idleNow.push(resolve))),
    };
    worker.on('active', () => {
      served.running += 1;
      served.started += 1;
    });
    worker.on('completed', finished);
    worker.on('failed', (job) => {
      if (job) finished();
    });
    logWorkerEvents(worker, this.options.logger);
    this.options.onWorker?.(worker);
    return served;
  }

  /** One watchdog pass: each running, unpaused worker that took nothing while it could gets a strike. */
  private async check(): Promise<void> {
    if (this.checking || this.closed) return;
    this.checking = true;
    try {
      for (const [stage, served] of this.served) {
        const { worker, queue } = served;
        const [counts, queuePaused] = await Promise.all([
          queue.getJobCounts('wait', 'prioritized'),
          queue.isPaused(), // paused from the dashboard: no worker takes its jobs, on purpose
        ]).catch(() => [undefined, true] as const);
        if (!counts || this.closed || this.served.get(stage) !== served) continue;
        served.strikes = nextFetchStrikes(served.strikes, {
          fetching: worker.isRunning() && !worker.isPaused() && !queuePaused,
          takeable: (counts.wait ?? 0) + (counts.prioritized ?? 0),
          started: served.started,
          running: served.running,
          concurrency: worker.concurrency,
        });
        served.started = 0;
        if (served.strikes >= FETCH_STRIKES_TO_REPLACE) this.replace(stage, served, counts.wait ?? 0);
      }
    } finally {
      this.checking = false;
    }
  }

  /** A new worker takes over the stage; the old one finishes the jobs it holds, then closes. */
  private replace(stage: StageName, old: Served, waiting: number): void {
    this.options.logger.warn(
      { queue: old.worker.name, waiting, running: old.running },
      'worker took no job while jobs waited (a Redis failover can leave it so): replaced by a new one',
    );
    this.served.set(stage, this.serve(stage, old.queue, true));
    const retired = this.closeWorker(old, false)
      .catch((err: unknown) =>
        this.options.logger.warn({ queue: old.worker.name, err }, 'replaced worker did not close'),
      )
      .finally(() => this.retiring.delete(old));
    this.retiring.set(old, retired);
  }

  /**
   * Stops a worker taking jobs and waits for the ones it holds (unless forced), then closes it. Not
   * BullMQ's graceful `close()` alone: that waits for the worker's main loop, and the loop of a worker a
   * Redis failover left stuck never ends (nor would the close). A healthy loop ends within its blocking
   * timeout once the worker is paused; a stuck one is closed without it after `LOOP_END_GRACE_MS`.
   */
  private async closeWorker(served: Served, force: boolean): Promise<void> {
    const { worker } = served;
    if (force) return worker.close(true);
    await worker.pause(true); // stops fetching, without waiting on the main loop
    await served.idle();
    const deadline = Date.now() + LOOP_END_GRACE_MS;
    while (worker.isRunning() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    const stuck = worker.isRunning();
    if (stuck)
      this.options.logger.warn({ queue: worker.name }, 'worker main loop did not end: closed without it');
    await worker.close(stuck);
  }

  /** The worker of a stage this app serves (the current one: the watchdog may have replaced it). */
  get(stage: StageName): Worker {
    const served = this.served.get(stage);
    if (!served) throw new Error(`this app does not serve stage ${stage}`);
    return served.worker;
  }

  /** The queues these workers take jobs from (the heartbeat lists them for the dashboard). */
  get queueNames(): string[] {
    return [...this.served.values()].map((s) => s.worker.name);
  }

  /** Jobs running in this process now. */
  get activeJobs(): number {
    const all = [...this.served.values(), ...this.retiring.keys()];
    return all.reduce((sum, s) => sum + Math.max(0, s.running), 0);
  }

  /** Stops taking jobs and waits for the running ones (or not, when forced). */
  async close(force = false): Promise<void> {
    this.closed = true;
    clearInterval(this.watchdog);
    await Promise.all([...this.served.values()].map((s) => this.closeWorker(s, force)));
    // Replaced workers: forced, now; else once the jobs they hold are done.
    if (force) await Promise.all([...this.retiring.keys()].map((s) => s.worker.close(true)));
    else await Promise.all(this.retiring.values());
    await Promise.all([...this.served.values()].map((s) => s.queue.close()));
  }
}
