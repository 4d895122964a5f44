import crypto from 'node:crypto';
import {
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

/** A key prefix of its own per test file, so suites sharing the bucket never meet. */
export function uniquePrefix(name: string): string {
  return `test/${name}-${crypto.randomBytes(4).toString('hex')}`;
}
