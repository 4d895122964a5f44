import { Queue } from 'bullmq';
import {
  AudioFileRepository,
  BatchRepository,
  ClassificationRepository,
  FailureRepository,
  PolicyRepository,
} from '@audio/db';
import { JobBatcher, transcribeQueueName } from '@audio/queues';
import * as runtime from '@audio/runtime';
import { readGpuConfig, type GpuConfig } from './config.js';
import { classifyStoredTranscripts } from './classify-handler.js';
import { finalizeBatch } from './finalize-handler.js';
import { ActivePolicy } from './policy-store.js';
import { SidecarProcess, type SidecarItem, type SidecarResultItem } from './sidecar/index.js';
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
    serves: ['transcribe', 'finalize', 'classify'],
    setup: (context) => gpuParts(context, config),
  });
  return Object.assign(app, { sidecar: app.parts.sidecar });
}

async function gpuParts(
  context: runtime.WorkerContext,
  config: GpuConfig,
): Promise<runtime.WorkerAppParts & { sidecar: SidecarProcess }> {
  const { hostId, logger, metrics, scratch, store } = context;
  const policies = new PolicyRepository(context.db);
  const activePolicy = new ActivePolicy(policies, {
    refreshMs: config.policyRefreshMs,
    logger,
  });
  const policy = await activePolicy.init(config.policyFile);
  const sidecar = SidecarProcess.fromEnv(context.env, {
    maxInFlight: 1 + config.batchesAhead,
    logger: logger.child({ component: 'sidecar' }),
    onRequestComplete: (ms, items) => metrics.observeSidecarRequest(ms, items),
  });
  const ready = await sidecar.start();
  const batcher = new JobBatcher<SidecarItem, SidecarResultItem>(
    { process: async (items) => sidecar.process(items, await activePolicy.current()) },
    // Batches leave while fewer than this are at the sidecar; the others gather the next batch.
    { maxBatch: config.batchSize, maxWaitMs: config.batchWaitMs, maxInFlight: 1 + config.batchesAhead },
  );
  const batches = new BatchRepository(context.db);
  const transcribeDeps = {
    batcher,
    scratch,
    store,
    audioFiles: new AudioFileRepository(context.db),
    ownership: { hostId, ownerOf: async (batchId: string) => (await batches.get(batchId))?.host },
  };
  const classifyDeps = {
    sidecar,
    policies,
    classifications: new ClassificationRepository(context.db),
  };
  const transcribeQueue = new Queue(transcribeQueueName(hostId), {
    connection: context.redis,
    prefix: context.prefix,
  });
  const finalizeDeps = {
    hostId,
    scratch,
    store,
    batches,
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
      // Re-classification jobs share the sidecar with new files: one at a time, each a batch of texts.
      classify: {
        handle: (payload) => classifyStoredTranscripts(classifyDeps, payload),
        concurrency: 1,
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
      policy: `${policy.id}@${policy.version}`,
      batchSize: config.batchSize,
    },
  };
}
