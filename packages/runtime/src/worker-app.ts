import { startProcessMetrics, type PipelineMetrics } from '@audio/metrics';
import type { Logger } from '@audio/logger';
import {
  HeartbeatPublisher,
  readHeartbeatInterval,
  readWorkerTuning,
  resolveHostId,
  StageWorkers,
  type StageHandlers,
  type StageName,
  type WorkerTuning,
} from '@audio/queues';
import { ScratchManager } from '@audio/storage';
import { openConnections, type Connections } from './connections.js';
import { releaseOf } from './release.js';

/** What a worker app's stages run on: the connections, this host, its scratch and its metrics. */
export interface WorkerContext extends Omit<Connections, 'close'> {
  app: string;
  hostId: string;
  tuning: WorkerTuning;
  scratch: ScratchManager;
  metrics: PipelineMetrics;
}

/** An app's own part, made on the context: its stage handlers and what it must stop and close. */
export interface WorkerAppParts {
  handlers: StageHandlers;
  /** Runs once the workers exist (e.g. a gate deciding when a worker with `autorun: false` starts). */
  started?(workers: StageWorkers): Promise<void> | void;
  /** Runs before the workers close (timers). */
  stop?(): Promise<void> | void;
  /** Runs after the workers closed, before the connections close. */
  close?(): Promise<void>;
  /** Extra fields of the 'started' log line. */
  describe?: Record<string, unknown>;
  /** Model name → version in use, read at every heartbeat (a restarted sidecar may load others). */
  models?(): Record<string, string> | undefined;
}

/** What a caller may set when it starts a worker app (tests and the demo embed the apps). */
export interface WorkerAppOptions {
  env?: NodeJS.ProcessEnv;
  logger?: Logger;
}

export interface WorkerAppSpec<P extends WorkerAppParts = WorkerAppParts> extends WorkerAppOptions {
  app: string;
  version: string;
  /** The stages whose queues this app takes jobs from; each needs a handler. */
  serves: readonly StageName[];
  setup(context: WorkerContext): Promise<P> | P;
}

export interface WorkerApp<P extends WorkerAppParts = WorkerAppParts> {
  hostId: string;
  context: WorkerContext;
  workers: StageWorkers;
  /** What the app's setup made. */
  parts: P;
  /** Stops taking jobs, waits for running ones (unless forced), closes the connections. */
  close(force?: boolean): Promise<void>;
}

/**
 * The one bootstrap of a worker process (unpack, gpu): connections from the environment, metrics on
 * METRICS_PORT, the app's handlers registered by stage name, one worker per stage it serves (starting
 * fails loudly when one has no handler), a heartbeat naming its queues, and an orderly close.
 */
export async function startWorkerApp<P extends WorkerAppParts>(
  spec: WorkerAppSpec<P>,
): Promise<WorkerApp<P>> {
  const env = spec.env ?? process.env;
  const hostId = resolveHostId(env);
  const tuning = readWorkerTuning(env);
  const heartbeatIntervalMs = readHeartbeatInterval(env);
  const scratch = ScratchManager.fromEnv(env);
  const processMetrics = await startProcessMetrics({ app: spec.app, hostId, env });
  let connections: Connections;
  try {
    connections = openConnections({
      name: `${spec.app}@${hostId}`,
      role: 'worker',
      env,
      storageMetrics: processMetrics.metrics.storage,
      ...(spec.logger ? { logger: spec.logger } : {}),
    });
  } catch (error) {
    await processMetrics.close(); // a configuration error: nothing else was opened
    throw error;
  }
  const { close: closeConnections, ...opened } = connections;
  const context: WorkerContext = {
    ...opened,
    app: spec.app,
    hostId,
    tuning,
    scratch,
    metrics: processMetrics.metrics,
  };
  const closeOpened = async () => {
    await processMetrics.close();
    await closeConnections();
  };

  let parts: P | undefined;
  let workers: StageWorkers;
  try {
    parts = await spec.setup(context);
    workers = new StageWorkers(spec.serves, parts.handlers, {
      connection: context.redis,
      prefix: context.prefix,
      hostId,
      tuning,
      logger: context.logger,
      onWorker: (worker) => context.metrics.instrumentWorker(worker),
    });
  } catch (error) {
    await parts?.close?.();
    await closeOpened();
    throw error;
  }
  const app = parts;
  try {
    await app.started?.(workers);
  } catch (error) {
    await workers.close(true);
    await app.close?.();
    await closeOpened();
    throw error;
  }

  const heartbeat = new HeartbeatPublisher(
    context.redis,
    context.prefix,
    { hostId, app: spec.app, version: spec.version, queues: workers.queueNames, ...releaseOf(env) },
    async () => {
      const models = app.models?.();
      return {
        activeJobs: workers.activeJobs,
        freeScratchBytes: await scratch.freeBytes().catch(() => null),
        ...(models ? { models } : {}),
      };
    },
    heartbeatIntervalMs,
  );
  heartbeat.start();
  context.logger.info(
    { hostId, queues: workers.queueNames, metrics: processMetrics.url, ...app.describe },
    `${spec.app} app started`,
  );

  return {
    hostId,
    context,
    workers,
    parts: app,
    async close(force = false) {
      await app.stop?.();
      await workers.close(force);
      await heartbeat.stop();
      await app.close?.();
      await closeOpened();
    },
  };
}
