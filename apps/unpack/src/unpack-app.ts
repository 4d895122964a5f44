import { Queue } from 'bullmq';
import { BatchRepository, FailureRepository } from '@audio/db';
import { BatchFlowProducer, convertQueueName, transcribeQueueName, UNPACK_QUEUE } from '@audio/queues';
import {
  DeadHostDetector,
  startWorkerApp,
  type WorkerAppOptions,
  type WorkerAppParts,
  type WorkerContext,
} from '@audio/runtime';
import { BacklogGate } from './backlog-gate.js';
import { readUnpackConfig, type UnpackConfig } from './config.js';
import { createConvertHandler } from './convert-handler.js';
import { OpusConverter } from './opus-converter.js';
import { unpackArchive } from './unpack-handler.js';

export const APP_VERSION = '0.1.0';

export type { WorkerApp as UnpackApp } from '@audio/runtime';

/**
 * The unpack app on one host: the shared `unpack` stage behind a backlog gate, this host's `convert`
 * stage, a heartbeat, a periodic sweep of stale scratch directories and a dead-host detector (every
 * GPU host runs one, so the death of any one host is noticed; their replays are locked per batch).
 */
export function startUnpackApp(options: WorkerAppOptions = {}) {
  const config = readUnpackConfig(options.env);
  return startWorkerApp({
    ...options,
    app: 'unpack',
    version: APP_VERSION,
    serves: ['unpack', 'convert'],
    setup: (context) => unpackParts(context, config),
  });
}

function unpackParts(context: WorkerContext, config: UnpackConfig): WorkerAppParts {
  const { hostId, logger, scratch, metrics } = context;
  const batches = new BatchRepository(context.db);
  const flows = new BatchFlowProducer(context.redis, context.prefix);
  const hostQueues = [convertQueueName(hostId), transcribeQueueName(hostId)].map(
    (name) => new Queue(name, { connection: context.redis, prefix: context.prefix }),
  );
  const unpackDeps = {
    hostId,
    config,
    store: context.store,
    scratch,
    batches,
    failures: new FailureRepository(context.db),
    flows,
    logger,
    onRefused: (code: string) => metrics.countFailure('unpack', code),
  };
  let gate: BacklogGate | undefined;
  const unpackQueue = new Queue(UNPACK_QUEUE, { connection: context.redis, prefix: context.prefix });
  const detector =
    config.deadHostCheckIntervalMs > 0
      ? new DeadHostDetector(
          {
            redis: context.redis,
            prefix: context.prefix,
            hostId,
            batches,
            store: context.store,
            unpackQueue,
            logger,
            onReplay: (deadHost) => metrics.countDeadHostReplay(deadHost),
          },
          { graceMs: config.deadHostGraceMs, intervalMs: config.deadHostCheckIntervalMs },
        )
      : undefined;

  const sweep = async () => {
    const active = [
      ...(await batches.list({ status: 'unpacking', limit: 10_000 })),
      ...(await batches.list({ status: 'unpacked', limit: 10_000 })),
    ].filter((b) => b.host === hostId);
    const removed = await scratch.sweepStale({
      activeBatchIds: active.map((b) => b.batchId),
      olderThanMs: config.staleScratchAfterMs,
    });
    if (removed.length > 0) logger.info({ removed }, 'removed stale scratch directories');
  };
  const sweepSafely = () => void sweep().catch((err: unknown) => logger.warn({ err }, 'sweep failed'));
  const sweepTimer = setInterval(sweepSafely, 3_600_000);
  sweepTimer.unref();

  return {
    handlers: {
      // The backlog gate decides when this host starts taking archives.
      unpack: {
        handle: (payload) => unpackArchive(unpackDeps, payload),
        concurrency: config.unpackConcurrency,
        autorun: false,
      },
      convert: {
        handle: createConvertHandler({
          scratch,
          converter: new OpusConverter({ ffmpegPath: config.ffmpegPath, bitrate: config.opusBitrate }),
          batchSize: config.convertBatchSize,
        }),
        concurrency: config.convertConcurrency * config.convertBatchSize,
      },
    },
    async started(workers) {
      gate = new BacklogGate(() => workers.get('unpack'), hostQueues, config.hostBacklogLimit, logger);
      await gate.check();
      gate.start();
      void workers.get('unpack').run();
      sweepSafely();
      detector?.start();
    },
    async stop() {
      clearInterval(sweepTimer);
      gate?.stop();
      await detector?.stop();
    },
    async close() {
      await Promise.all([...hostQueues, unpackQueue].map((q) => q.close()));
      await flows.close();
    },
    describe: {
      convertConcurrency: config.convertConcurrency,
      deadHostGraceMs: config.deadHostGraceMs,
      deadHostCheckIntervalMs: config.deadHostCheckIntervalMs,
    },
  };
}
