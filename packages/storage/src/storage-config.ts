import { z } from 'zod';
import {
  booleanFromEnv,
  bytesFromEnv,
  durationFromEnv,
  envVar,
  integerFromEnv,
  readEnv,
} from '@audio/config';

const MiB = 1024 * 1024;

/** S3's floor for every part but the last. */
export const MIN_PART_SIZE = 5 * MiB;
/** S3's ceiling for one PUT or one part. */
export const MAX_SINGLE_PUT_SIZE = 5 * 1024 * MiB;

/** Transfer defaults; measured on Swift with `pnpm bench:storage` (see the README). */
export const DEFAULT_TRANSFER_SETTINGS = {
  multipartThreshold: 100 * MiB,
  partSize: 32 * MiB,
  maxParts: 1000,
  partConcurrency: 4,
} as const;

const storageEnv = z
  .object({
    S3_ENDPOINT: envVar(z.url({ protocol: /^https?$/ }).optional(), 'http://127.0.0.1:8080'),
    S3_REGION: envVar(z.string().min(1).default('us-east-1'), 'us-east-1'),
    S3_ACCESS_KEY: envVar(z.string().min(1), 'test:tester'),
    S3_SECRET_KEY: envVar(z.string().min(1), 'testing'),
    S3_BUCKET: envVar(
      z
        .string()
        .regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, 'must be 3-63 of a-z 0-9 . - (an S3 bucket name)')
        .default('audio-pipeline'),
      'audio-pipeline',
    ),
    S3_FORCE_PATH_STYLE: envVar(booleanFromEnv.default(true), 'true'),
    S3_MULTIPART_THRESHOLD: envVar(
      bytesFromEnv
        .pipe(
          z.number().int().min(0).max(MAX_SINGLE_PUT_SIZE, 'must be at most 5GiB (the S3 single PUT limit)'),
        )
        .default(DEFAULT_TRANSFER_SETTINGS.multipartThreshold),
      '100MiB',
    ),
    S3_PART_SIZE: envVar(
      bytesFromEnv
        .pipe(
          z
            .number()
            .int()
            .min(MIN_PART_SIZE, 'must be at least 5MiB (the S3 minimum part size)')
            .max(MAX_SINGLE_PUT_SIZE, 'must be at most 5GiB'),
        )
        .default(DEFAULT_TRANSFER_SETTINGS.partSize),
      '32MiB',
    ),
    S3_MAX_PARTS: envVar(integerFromEnv(1, 10_000).default(DEFAULT_TRANSFER_SETTINGS.maxParts), '1000'),
    S3_PART_CONCURRENCY: envVar(
      integerFromEnv(1, 64).default(DEFAULT_TRANSFER_SETTINGS.partConcurrency),
      String(DEFAULT_TRANSFER_SETTINGS.partConcurrency),
    ),
    S3_REQUEST_TIMEOUT: envVar(
      durationFromEnv.pipe(z.number().int().min(100, 'must be at least 100ms')).default(60_000),
      '60s',
    ),
    S3_MAX_ATTEMPTS: envVar(integerFromEnv(1, 20).default(5), '5'),
  })
  .transform((e) => ({
    /** Unset: AWS's regional endpoint. Swift/MinIO: `http://host:port`. */
    ...(e.S3_ENDPOINT ? { endpoint: e.S3_ENDPOINT } : {}),
    region: e.S3_REGION,
    accessKey: e.S3_ACCESS_KEY,
    secretKey: e.S3_SECRET_KEY,
    bucket: e.S3_BUCKET,
    /** Path-style URLs (`host/bucket/key`): Swift and MinIO need them; AWS accepts them. */
    forcePathStyle: e.S3_FORCE_PATH_STYLE,
    /** Files above this size go up in parts; smaller ones in one PUT. */
    multipartThreshold: e.S3_MULTIPART_THRESHOLD,
    /** Smallest part size; grows to ceil(size / maxParts) for files that would need more parts. */
    partSize: e.S3_PART_SIZE,
    /** Swift's `max_upload_part_num` defaults to 1000 (AWS allows 10000). */
    maxParts: e.S3_MAX_PARTS,
    /** Parts in flight at once; memory use is about partSize × partConcurrency. */
    partConcurrency: e.S3_PART_CONCURRENCY,
    /** A request that moves no bytes for this long is aborted and retried. */
    requestTimeoutMs: e.S3_REQUEST_TIMEOUT,
    /** Attempts per request, including the first (SDK retries: exponential backoff with full jitter). */
    maxAttempts: e.S3_MAX_ATTEMPTS,
  }));

export type StorageConfig = z.output<typeof storageEnv>;

/** Reads the S3_* variables; a bad or missing one throws a ConfigError naming it, with an example. */
export function readStorageConfig(env: NodeJS.ProcessEnv = process.env): StorageConfig {
  return readEnv(storageEnv, env);
}
