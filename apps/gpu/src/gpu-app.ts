import { Queue } from 'bullmq';
import { AudioFileRepository, BatchRepository, FailureRepository } from '@audio/db';
import { JobBatcher, transcribeQueueName } from '@audio/queues';
import * as runtime from '@audio/runtime';
import { readGpuConfig, type GpuConfig } from './config.js';
import { finalizeBatch } from './finalize-handler.js';
import { loadPolicy, SidecarProcess, type SidecarItem, type SidecarResultItem } from './sidecar/index.js';
import { transcribeFile } from './transcribe-handler.js';

export const APP_VERSION = '0.1.0';

export type GpuApp = runtime.WorkerApp & { sidecar: SidecarProcess };

/**
 * The GPU app on one host: one Python sidecar (models loaded once), this host's `transcribe` stage
 * feeding it in batches, and this host's `finalize` stage.
 */
export async function startGpuApp(options: runtime.WorkerAppOptions = {}): Promise<GpuApp> {
  const config = readGpuConfig(options.env);
  const app = await runtime.startWorkerApp({
    ...options,
    app: 'gpu',
    version: APP_VERSION,
    serves: ['transcribe', 'finalize'],
    setup: (context) => gpuParts(context, config),
  });
  return Object.assign(app, { sidecar: app.parts.sidecar });
}

async function gpuParts(
  context: runtime.WorkerContext,
  config: GpuConfig,
): Promise<runtime.WorkerAppParts & { sidecar: SidecarProcess }> {
  const { hostId, logger, metrics, scratch, store } = context;
  const policy = await loadPolicy(config.policyFile);
  const sidecar = SidecarProcess.fromEnv(context.env, {
    maxInFlight: 1 + config.batchesAhead,
    logger: logger.child({ component: 'sidecar' }),
    onRequestComplete: (ms, items) => metrics.observeSidecarRequest(ms, items),
  });
  const ready = await sidecar.start();
  const batcher = new JobBatcher<SidecarItem, SidecarResultItem>(
    { process: (items) => sidecar.process(items, policy) },
    // Batches leave while fewer than this are at the sidecar; the others gather the next batch.
    { maxBatch: config.batchSize, maxWaitMs: config.batchWaitMs, maxInFlight: 1 + config.batchesAhead },
  );
  const transcribeDeps = { batcher, scratch, store, audioFiles: new AudioFileRepository(context.db) };
  const transcribeQueue = new Queue(transcribeQueueName(hostId), {
    connection: context.redis,
    prefix: context.prefix,
  });
  const finalizeDeps = {
    hostId,
    scratch,
    store,
    batches: new BatchRepository(context.db),
    failures: new FailureRepository(context.db),
    deleteArchiveAfterComplete: config.deleteArchiveAfterComplete,
    transcribeQueue,
    logger,
    onFailureRecorded: ({ stage, code }: { stage: string; code: string }) =>
      metrics.countFailure(stage, code),
  };
  return {
    sidecar,
    handlers: {
      transcribe: {
        handle: (payload, job) => transcribeFile(transcribeDeps, payload, job),
        // Jobs for the batch being inferred and for the ones queued behind it.
        concurrency: config.batchSize * (1 + config.batchesAhead),
      },
      finalize: {
        handle: (payload, job) => finalizeBatch(finalizeDeps, payload, job),
        concurrency: config.finalizeConcurrency,
      },
    },
    models: () => sidecar.info?.modelVersions,
    async close() {
      await transcribeQueue.close();
      await sidecar.stop();
    },
    describe: {
      backend: ready.backend,
      models: ready.models,
      modelVersions: ready.modelVersions,
      device: ready.device,
      policy: policy.id,
      batchSize: config.batchSize,
    },
  };
}
