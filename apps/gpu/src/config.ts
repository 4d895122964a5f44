import { z } from 'zod';
import { booleanFromEnv, durationFromEnv, envVar, integerFromEnv, readEnv } from '@audio/config';
import { DEMO_POLICY_FILE } from './sidecar/index.js';

const gpuEnv = z.object({
  TRANSCRIBE_BATCH_SIZE: envVar(integerFromEnv(1, 512).default(16), '32'),
  TRANSCRIBE_BATCH_WAIT: envVar(durationFromEnv.default(25), '50ms'),
  TRANSCRIBE_BATCHES_AHEAD: envVar(integerFromEnv(0, 8).default(1), '1'),
  FINALIZE_CONCURRENCY: envVar(integerFromEnv(1, 64).default(2), '2'),
  POLICY_FILE: envVar(z.string().default(DEMO_POLICY_FILE), '/etc/audio-pipeline/policy.json'),
  DELETE_ARCHIVE_AFTER_COMPLETE: envVar(booleanFromEnv.default(false), 'false'),
  SHUTDOWN_TIMEOUT: envVar(durationFromEnv.default(60_000), '60s'),
});

export interface GpuConfig {
  /** Jobs taken at once, and so items per sidecar request. */
  batchSize: number;
  batchWaitMs: number;
  /**
   * Batches queued at the sidecar behind the one it works on. With 1, the next batch is already
   * written when one finishes, so the GPU never waits for the jobs of the last batch to write their
   * rows and upload their Opus files, nor for BullMQ to hand out the next jobs.
   */
  batchesAhead: number;
  finalizeConcurrency: number;
  policyFile: string;
  deleteArchiveAfterComplete: boolean;
  shutdownTimeoutMs: number;
}

export function readGpuConfig(env: NodeJS.ProcessEnv = process.env): GpuConfig {
  const e = readEnv(gpuEnv, env);
  return {
    batchSize: e.TRANSCRIBE_BATCH_SIZE,
    batchWaitMs: e.TRANSCRIBE_BATCH_WAIT,
    batchesAhead: e.TRANSCRIBE_BATCHES_AHEAD,
    finalizeConcurrency: e.FINALIZE_CONCURRENCY,
    policyFile: e.POLICY_FILE,
    deleteArchiveAfterComplete: e.DELETE_ARCHIVE_AFTER_COMPLETE,
    shutdownTimeoutMs: e.SHUTDOWN_TIMEOUT,
  };
}
