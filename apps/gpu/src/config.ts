import { z } from 'zod';
import { booleanFromEnv, durationFromEnv, envVar, integerFromEnv, readEnv } from '@audio/config';
import { DEMO_POLICY_FILE } from './sidecar/index.js';

const gpuEnv = z
  .object({
    TRANSCRIBE_BATCH_SIZE: envVar(integerFromEnv(1, 512).default(16), '32'),
    TRANSCRIBE_BATCH_WAIT: envVar(durationFromEnv.default(25), '50ms'),
    FINALIZE_CONCURRENCY: envVar(integerFromEnv(1, 64).default(2), '2'),
    POLICY_FILE: envVar(z.string().default(DEMO_POLICY_FILE), '/etc/audio-pipeline/policy.json'),
    DELETE_ARCHIVE_AFTER_COMPLETE: envVar(booleanFromEnv.default(false), 'false'),
    SHUTDOWN_TIMEOUT: envVar(durationFromEnv.default(60_000), '60s'),
  })
  .transform((e) => ({
    /** Jobs taken at once, and so items per sidecar request. */
    batchSize: e.TRANSCRIBE_BATCH_SIZE,
    batchWaitMs: e.TRANSCRIBE_BATCH_WAIT,
    finalizeConcurrency: e.FINALIZE_CONCURRENCY,
    policyFile: e.POLICY_FILE,
    deleteArchiveAfterComplete: e.DELETE_ARCHIVE_AFTER_COMPLETE,
    shutdownTimeoutMs: e.SHUTDOWN_TIMEOUT,
  }));

export type GpuConfig = z.output<typeof gpuEnv>;

export function readGpuConfig(env: NodeJS.ProcessEnv = process.env): GpuConfig {
  return readEnv(gpuEnv, env);
}
