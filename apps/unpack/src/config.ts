import os from 'node:os';
import { z } from 'zod';
import { bytesFromEnv, durationFromEnv, envConfig, fromEnv, integerFromEnv, readEnv } from '@audio/config';

const unpackEnv = envConfig({
  /** Archives this host unpacks at the same time. */
  unpackConcurrency: fromEnv('UNPACK_CONCURRENCY', integerFromEnv(1, 16).default(1), '1'),
  /** ffmpeg processes at the same time; default: one per core. */
  convertConcurrency: fromEnv('CONVERT_CONCURRENCY', integerFromEnv(1, 512).optional(), '16'),
  /** Files converted by one ffmpeg process (its start-up costs more than a short file's encoding). */
  convertBatchSize: fromEnv('CONVERT_BATCH_SIZE', integerFromEnv(1, 64).default(8), '8'),
  maxEntryBytes: fromEnv('MAX_ENTRY_BYTES', bytesFromEnv.default(1024 ** 3), '1GiB'),
  maxEntries: fromEnv('MAX_ENTRIES', integerFromEnv(1).default(200_000), '200000'),
  /** Bytes one batch may write to scratch (tar bombs stop here). */
  batchScratchQuota: fromEnv('BATCH_SCRATCH_QUOTA', bytesFromEnv.default(200 * 1024 ** 3), '200GiB'),
  /** Files waiting in this host's convert and transcribe queues above which it takes no new archive. */
  hostBacklogLimit: fromEnv('HOST_BACKLOG_LIMIT', integerFromEnv(1).default(5000), '5000'),
  opusBitrate: fromEnv(
    'OPUS_BITRATE',
    z
      .string()
      .regex(/^\d{1,3}k$/, 'must look like 32k')
      .default('32k'),
    '32k',
  ),
  ffmpegPath: fromEnv('FFMPEG_PATH', z.string().default('ffmpeg'), '/usr/bin/ffmpeg'),
  staleScratchAfterMs: fromEnv('STALE_SCRATCH_AFTER', durationFromEnv.default(6 * 3_600_000), '6h'),
  shutdownTimeoutMs: fromEnv('SHUTDOWN_TIMEOUT', durationFromEnv.default(30_000), '30s'),
  /**
   * A host silent this long (no heartbeat from any of its apps) is dead: its unfinished batches are
   * replayed on the live hosts. Longer than a host's reboot or a deploy's restart; a false alarm only
   * costs work (the old run stands down), a long one delays the batches.
   */
  deadHostGraceMs: fromEnv(
    'DEAD_HOST_GRACE',
    durationFromEnv.default(300_000).pipe(z.number().min(1000, 'must be at least 1s')),
    '5m',
  ),
  /** How often this host looks for dead hosts; 0 turns its detector off. */
  deadHostCheckIntervalMs: fromEnv('DEAD_HOST_CHECK_INTERVAL', durationFromEnv.default(30_000), '30s'),
}).transform((config) => ({
  ...config,
  convertConcurrency: config.convertConcurrency ?? os.availableParallelism(),
}));

export type UnpackConfig = z.output<typeof unpackEnv>;

export function readUnpackConfig(env: NodeJS.ProcessEnv = process.env): UnpackConfig {
  return readEnv(unpackEnv, env);
}
