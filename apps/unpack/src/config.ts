import os from 'node:os';
import { z } from 'zod';
import { bytesFromEnv, durationFromEnv, envVar, integerFromEnv, readEnv } from '@audio/config';

const unpackEnv = z
  .object({
    UNPACK_CONCURRENCY: envVar(integerFromEnv(1, 16).default(1), '1'),
    CONVERT_CONCURRENCY: envVar(integerFromEnv(1, 512).optional(), '16'),
    CONVERT_BATCH_SIZE: envVar(integerFromEnv(1, 64).default(8), '8'),
    MAX_ENTRY_BYTES: envVar(bytesFromEnv.default(1024 ** 3), '1GiB'),
    MAX_ENTRIES: envVar(integerFromEnv(1).default(200_000), '200000'),
    BATCH_SCRATCH_QUOTA: envVar(bytesFromEnv.default(200 * 1024 ** 3), '200GiB'),
    HOST_BACKLOG_LIMIT: envVar(integerFromEnv(1).default(5000), '5000'),
    OPUS_BITRATE: envVar(
      z
        .string()
        .regex(/^\d{1,3}k$/, 'must look like 32k')
        .default('32k'),
      '32k',
    ),
    FFMPEG_PATH: envVar(z.string().default('ffmpeg'), '/usr/bin/ffmpeg'),
    STALE_SCRATCH_AFTER: envVar(durationFromEnv.default(6 * 3_600_000), '6h'),
    SHUTDOWN_TIMEOUT: envVar(durationFromEnv.default(30_000), '30s'),
  })
  .transform((e) => ({
    /** Archives this host unpacks at the same time. */
    unpackConcurrency: e.UNPACK_CONCURRENCY,
    /** ffmpeg processes at the same time; default: one per core. */
    convertConcurrency: e.CONVERT_CONCURRENCY ?? os.availableParallelism(),
    /** Files converted by one ffmpeg process (its start-up costs more than a short file's encoding). */
    convertBatchSize: e.CONVERT_BATCH_SIZE,
    maxEntryBytes: e.MAX_ENTRY_BYTES,
    maxEntries: e.MAX_ENTRIES,
    /** Bytes one batch may write to scratch (tar bombs stop here). */
    batchScratchQuota: e.BATCH_SCRATCH_QUOTA,
    /** Files waiting in this host's convert and transcribe queues above which it takes no new archive. */
    hostBacklogLimit: e.HOST_BACKLOG_LIMIT,
    opusBitrate: e.OPUS_BITRATE,
    ffmpegPath: e.FFMPEG_PATH,
    staleScratchAfterMs: e.STALE_SCRATCH_AFTER,
    shutdownTimeoutMs: e.SHUTDOWN_TIMEOUT,
  }));

export type UnpackConfig = z.output<typeof unpackEnv>;

export function readUnpackConfig(env: NodeJS.ProcessEnv = process.env): UnpackConfig {
  return readEnv(unpackEnv, env);
}
