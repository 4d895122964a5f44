import { z } from 'zod';
import {
  booleanFromEnv,
  bytesFromEnv,
  durationFromEnv,
  envConfig,
  fromEnv,
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

const storageEnv = envConfig({
  /** Unset: AWS's regional endpoint. Swift/MinIO: `http://host:port`. */
  endpoint: fromEnv('S3_ENDPOINT', z.url({ protocol: /^https?$/ }).optional(), 'http://127.0.0.1:8080'),
  region: fromEnv('S3_REGION', z.string().min(1).default('us-east-1'), 'us-east-1'),
  accessKey: fromEnv('S3_ACCESS_KEY', z.string().min(1), 'test:tester'),
  secretKey: fromEnv('S3_SECRET_KEY', z.string().min(1), 'testing'),
  bucket: fromEnv(
    'S3_BUCKET',
    z
      .string()
      .regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, 'must be 3-63 of a-z 0-9 . - (an S3 bucket name)')
      .default('audio-pipeline'),
    'audio-pipeline',
  ),
  /** Path-style URLs (`host/bucket/key`): Swift and MinIO need them; AWS accepts them. */
  forcePathStyle: fromEnv('S3_FORCE_PATH_STYLE', booleanFromEnv.default(true), 'true'),
  /** Files above this size go up in parts; smaller ones in one PUT. */
  multipartThreshold: fromEnv(
    'S3_MULTIPART_THRESHOLD',
    bytesFromEnv
      .pipe(
        z.number().int().min(0).max(MAX_SINGLE_PUT_SIZE, 'must be at most 5GiB (the S3 single PUT limit)'),
      )
      .default(DEFAULT_TRANSFER_SETTINGS.multipartThreshold),
    '100MiB',
  ),
  /** Smallest part size; grows to ceil(size / maxParts) for files that would need more parts. */
  partSize: fromEnv(
    'S3_PART_SIZE',
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
  /** Swift's `max_upload_part_num` defaults to 1000 (AWS allows 10000). */
  maxParts: fromEnv(
    'S3_MAX_PARTS',
    integerFromEnv(1, 10_000).default(DEFAULT_TRANSFER_SETTINGS.maxParts),
    '1000',
  ),
  /** Parts in flight at once; memory use is about partSize × partConcurrency. */
  partConcurrency: fromEnv(
    'S3_PART_CONCURRENCY',
    integerFromEnv(1, 64).default(DEFAULT_TRANSFER_SETTINGS.partConcurrency),
    String(DEFAULT_TRANSFER_SETTINGS.partConcurrency),
  ),
  /** A request that moves no bytes for this long is aborted and retried. */
  requestTimeoutMs: fromEnv(
    'S3_REQUEST_TIMEOUT',
    durationFromEnv.pipe(z.number().int().min(100, 'must be at least 100ms')).default(60_000),
    '60s',
  ),
  /** Attempts per request, including the first (SDK retries: exponential backoff with full jitter). */
  maxAttempts: fromEnv('S3_MAX_ATTEMPTS', integerFromEnv(1, 20).default(5), '5'),
});

export type StorageConfig = z.output<typeof storageEnv>;

/** Reads the S3_* variables; a bad or missing one throws a ConfigError naming it, with an example. */
export function readStorageConfig(env: NodeJS.ProcessEnv = process.env): StorageConfig {
  return readEnv(storageEnv, env);
}
