import { z } from 'zod';
import { booleanFromEnv, durationFromEnv, envConfig, fromEnv, integerFromEnv, readEnv } from '@audio/config';
import { DEMO_POLICY_FILE } from './sidecar/index.js';

const gpuEnv = envConfig({
  /** Jobs taken at once, and so items per sidecar request. */
  batchSize: fromEnv('TRANSCRIBE_BATCH_SIZE', integerFromEnv(1, 512).default(16), '32'),
  batchWaitMs: fromEnv('TRANSCRIBE_BATCH_WAIT', durationFromEnv.default(25), '50ms'),
  /**
   * Batches queued at the sidecar behind the one it works on. With 1, the next batch is already
   * written when one finishes, so the GPU never waits for the jobs of the last batch to write their
   * rows and upload their Opus files, nor for BullMQ to hand out the next jobs.
   */
  batchesAhead: fromEnv('TRANSCRIBE_BATCHES_AHEAD', integerFromEnv(0, 8).default(1), '1'),
  finalizeConcurrency: fromEnv('FINALIZE_CONCURRENCY', integerFromEnv(1, 64).default(2), '2'),
  policyFile: fromEnv('POLICY_FILE', z.string().default(DEMO_POLICY_FILE), '/etc/audio-pipeline/policy.json'),
  /** How soon a `pnpm policy activate` reaches this host's new batches. */
  policyRefreshMs: fromEnv('POLICY_REFRESH', durationFromEnv.default(10_000), '10s'),
  deleteArchiveAfterComplete: fromEnv(
    'DELETE_ARCHIVE_AFTER_COMPLETE',
    booleanFromEnv.default(false),
    'false',
  ),
  shutdownTimeoutMs: fromEnv('SHUTDOWN_TIMEOUT', durationFromEnv.default(60_000), '60s'),
});

export type GpuConfig = z.output<typeof gpuEnv>;

export function readGpuConfig(env: NodeJS.ProcessEnv = process.env): GpuConfig {
  return readEnv(gpuEnv, env);
}
