import { AudioFileRepository, BatchRepository, createDb, FailureRepository, readDbConfig } from '@audio/db';
import { createLogger, type Logger } from '@audio/logger';
import { startProcessMetrics } from '@audio/metrics';
import {
  createRedisConnection,
  finalizeQueueName,
  HeartbeatPublisher,
  logWorkerEvents,
  readRedisConfig,
  readWorkerTuning,
  resolveHostId,
  transcribeQueueName,
  JobBatcher,
} from '@audio/queues';
import { ObjectStore, readStorageConfig, ScratchManager } from '@audio/storage';
import { readGpuConfig } from './config.js';
import { createFinalizeWorker } from './finalize-worker.js';
import { loadPolicy, SidecarProcess, type SidecarItem, type SidecarResultItem } from './sidecar/index.js';
import { createTranscribeWorker } from './transcribe-worker.js';

export const APP_VERSION = '0.1.0';

export interface GpuApp {
  hostId: string;
  sidecar: SidecarProcess;
  close(force?: boolean): Promise<void>;
}

/**
 * The GPU app on one host: one Python sidecar (models loaded once), this host's transcribe worker feeding
 * it in batches, and this host's finalize worker.
 */
export async function startGpuApp(
  options: { env?: NodeJS.ProcessEnv; logger?: Logger } = {},
): Promise<GpuApp> {
  const env = options.env ?? process.env;
  const logger = options.logger ?? createLogger({ name: 'gpu' });
  const config = readGpuConfig(env);
  const hostId = resolveHostId(env);
  const redisConfig = readRedisConfig(env);
  const storageConfig = readStorageConfig(env);
  const policy = await loadPolicy(config.policyFile);

  const processMetrics = await startProcessMetrics({ app: 'gpu', hostId, env });
  const { metrics } = processMetrics;
  const sidecar = SidecarProcess.fromEnv(env, {
    maxInFlight: 1 + config.batchesAhead,
    logger: logger.child({ component: 'sidecar' }),
    onRequestComplete: (ms, items) => metrics.observeSidecarRequest(ms, items),
  });
  const ready = await sidecar.start();

  const db = createDb(readDbConfig(env));
  const connection = createRedisConnection(redisConfig, 'worker', `gpu@${hostId}`);
  const prefix = redisConfig.prefix;
  const tuning = readWorkerTuning(env);
  const store = ObjectStore.fromConfig(storageConfig, { logger, metrics: metrics.storage });
  const scratch = ScratchManager.fromEnv(env);

  const batcher = new JobBatcher<SidecarItem, SidecarResultItem>(
    { process: (items) => sidecar.process(items, policy) },
    // Batches leave while fewer than this are at the sidecar; the others gather the next batch.
    { maxBatch: config.batchSize, maxWaitMs: config.batchWaitMs, maxInFlight: 1 + config.batchesAhead },
  );
  const transcribeWorker = createTranscribeWorker({
    hostId,
    connection,
    prefix,
    tuning,
    batcher,
    scratch,
    store,
    audioFiles: new AudioFileRepository(db),
    // Jobs for the batch being inferred and for the ones queued behind it.
    concurrency: config.batchSize * (1 + config.batchesAhead),
    logger,
  });
  const finalize = createFinalizeWorker({
    hostId,
    connection,
    prefix,
    tuning,
    scratch,
    store,
    batches: new BatchRepository(db),
    failures: new FailureRepository(db),
    deleteArchiveAfterComplete: config.deleteArchiveAfterComplete,
    concurrency: config.finalizeConcurrency,
    logger,
    onFailureRecorded: (stage, code) => metrics.countFailure(stage, code),
  });
  for (const worker of [transcribeWorker, finalize.worker]) {
    metrics.instrumentWorker(worker);
    logWorkerEvents(worker, logger);
  }

  let activeJobs = 0;
  transcribeWorker.on('active', () => activeJobs++);
  for (const event of ['completed', 'failed'] as const) transcribeWorker.on(event, () => activeJobs--);
  const heartbeat = new HeartbeatPublisher(
    connection,
    prefix,
    {
      hostId,
      app: 'gpu',
      version: APP_VERSION,
      queues: [transcribeQueueName(hostId), finalizeQueueName(hostId)],
    },
    async () => ({
      activeJobs,
      freeScratchBytes: await scratch.freeBytes().catch(() => null),
    }),
  );
  heartbeat.start();
  logger.info(
    {
      hostId,
      backend: ready.backend,
      models: ready.models,
      device: ready.device,
      policy: policy.id,
      batchSize: config.batchSize,
      metrics: processMetrics.url,
    },
    'gpu app started',
  );

  return {
    hostId,
    sidecar,
    async close(force = false) {
      await Promise.all([transcribeWorker.close(force), finalize.close()]);
      await heartbeat.stop();
      await sidecar.stop();
      await processMetrics.close();
      connection.disconnect();
      await db.close();
    },
  };
}
