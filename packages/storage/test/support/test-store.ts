import crypto from 'node:crypto';
import type { S3Client } from '@aws-sdk/client-s3';
import {
  createS3Client,
  ObjectStore,
  readStorageConfig,
  type StorageConfig,
  type ObjectStoreOptions,
} from '../../src/index.js';

/**
 * The S3 settings the jest global setup exported (Swift on loopback), optionally pointed at another
 * endpoint (a FaultProxy) or with other client settings.
 */
export function testStorageConfig(overrides: Partial<StorageConfig> = {}): StorageConfig {
  return { ...readStorageConfig(process.env), ...overrides };
}

export function testStore(
  overrides: Partial<StorageConfig> = {},
  options: ObjectStoreOptions = {},
): ObjectStore {
  return ObjectStore.fromConfig(testStorageConfig(overrides), options);
}

/** A client of its own for what a test does behind the store's back (the store's client is private). */
export function testS3Client(overrides: Partial<StorageConfig> = {}): S3Client {
  return createS3Client(testStorageConfig(overrides));
}

/** A key prefix of its own per test file, so suites sharing the bucket never meet. */
export function uniquePrefix(name: string): string {
  return `test/${name}-${crypto.randomBytes(4).toString('hex')}`;
}
