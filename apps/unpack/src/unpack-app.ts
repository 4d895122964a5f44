import { Queue } from 'bullmq';
import { BatchRepository, createDb, FailureRepository, readDbConfig } from '@audio/db';
import { createLogger, type Logger } from '@audio/logger';
import { startProcessMetrics } from '@audio/metrics';
import {
  BatchFlowProducer,
  convertQueueName,
  createRedisConnection,
  HeartbeatPublisher,
  logWorkerEvents,
  readRedisConfig,
  readWorkerTuning,
  resolveHostId,
  transcribeQueueName,
  UNPACK_QUEUE,
} from '@audio/queues';
import { ObjectStore, readStorageConfig, ScratchManager } from '@audio/storage';
import { BacklogGate } from './backlog-gate.js';
import { readUnpackConfig } from './config.js';
import { createConvertWorker } from './convert-worker.js';
import { OpusConverter } from './opus-converter.js';
import { createUnpackWorker } from './unpack-worker.js';

export const APP_VERSION = '0.1.0';

export interface UnpackApp {
  hostId: string;
  /** Stops taking jobs, waits for running ones (bounded), closes connections. */
  close(force?: boolean): Promise<void>;
}

/**
 * The unpack app on one host: the shared-queue unpack worker behind a backlog gate, this host's convert
 * worker, a heartbeat and a periodic sweep of stale scratch directories.
 */
export async function startUnpackApp(
  options: { env?: NodeJS.ProcessEnv; logger?: Logger } = {},
): Promise<UnpackApp> {
  const env = options.env ?? process.env;
  const logger = options.logger ?? createLogger({ name: 'unpack' });
  const config = readUnpackConfig(env);
  const hostId = resolveHostId(env);
  const redisConfig = readRedisConfig(env);
  const storageConfig = readStorageConfig(env);
  const db = createDb(readDbConfig(env));
  const connection = createRedisConnection(redisConfig, 'worker', `unpack@${hostId}`);
  const prefix = redisConfig.prefix;
  const tuning = readWorkerTuning(env);

  const processMetrics = await startProcessMetrics({ app: 'unpack', hostId, env });
  const { metrics } = processMetrics;
  const store = ObjectStore.fromConfig(storageConfig, { logger, metrics: metrics.storage });
  const scratch = ScratchManager.fromEnv(env);
  const batches = new BatchRepository(db);
  const failures = new FailureRepository(db);
  const flows = new BatchFlowProducer(connection, prefix);
  const converter = new OpusConverter({ ffmpegPath: config.ffmpegPath, bitrate: config.opusBitrate });

  const convertWorker = createConvertWorker({
    hostId,
    connection,
    prefix,
    tuning,
    scratch,
    converter,
    concurrency: config.convertConcurrency,
    batchSize: config.convertBatchSize,
    logger,
  });
  const unpackWorker = createUnpackWorker({
    hostId,
    connection,
    prefix,
    tuning,
    config,
    store,
    scratch,
    batches,
    failures,
    flows,
    logger,
    onRefused: (code) => metrics.countFailure('unpack', code),
  });
  for (const worker of [convertWorker, unpackWorker]) {
    metrics.instrumentWorker(worker);
    logWorkerEvents(worker, logger);
  }

  const hostQueues = [convertQueueName(hostId), transcribeQueueName(hostId)].map(
    (name) => new Queue(name, { connection, prefix }),
  );
  const gate = new BacklogGate(unpackWorker, hostQueues, config.hostBacklogLimit, logger);
  await gate.check();
  gate.start();
  void unpackWorker.run();

  const heartbeat = new HeartbeatPublisher(
    connection,
    prefix,
    { hostId, app: 'unpack', version: APP_VERSION, queues: [UNPACK_QUEUE, convertQueueName(hostId)] },
    async () => ({
      activeJobs: (await Promise.all(hostQueues.map((q) => q.getActiveCount()))).reduce((a, b) => a + b, 0),
      freeScratchBytes: await scratch.freeBytes().catch(() => null),
    }),
  );
  heartbeat.start();

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
  const sweepTimer = setInterval(
    () => void sweep().catch((err: unknown) => logger.warn({ err }, 'sweep failed')),
    3_600_000,
  );
  sweepTimer.unref();
  void sweep().catch((err: unknown) => logger.warn({ err }, 'sweep failed'));

  logger.info(
    { hostId, convertConcurrency: config.convertConcurrency, metrics: processMetrics.url },
    'unpack app started',
  );
  return {
    hostId,
    async close(force = false) {
      clearInterval(sweepTimer);
      gate.stop();
      await Promise.all([unpackWorker.close(force), convertWorker.close(force)]);
      await heartbeat.stop();
      await Promise.all(hostQueues.map((q) => q.close()));
      await flows.close();
      await processMetrics.close();
      connection.disconnect();
      await db.close();
    },
  };
}
