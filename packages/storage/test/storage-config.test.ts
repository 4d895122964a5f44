import { describe, expect, it } from '@jest/globals';
import { ConfigError } from '@audio/config';
import { DEFAULT_TRANSFER_SETTINGS, planParts, readStorageConfig } from '../src/index.js';

const base = { S3_ACCESS_KEY: 'test:tester', S3_SECRET_KEY: 'testing' };
const MiB = 1024 * 1024;

describe('readStorageConfig', () => {
  it('fills the defaults around the required credentials', () => {
    const config = readStorageConfig({ ...base, S3_ENDPOINT: 'http://127.0.0.1:8080' });
    expect(config).toEqual({
      endpoint: 'http://127.0.0.1:8080',
      region: 'us-east-1',
      accessKey: 'test:tester',
      secretKey: 'testing',
      bucket: 'audio-pipeline',
      forcePathStyle: true,
      ...DEFAULT_TRANSFER_SETTINGS,
      requestTimeoutMs: 60_000,
      maxAttempts: 5,
    });
  });

  it('reads sizes and durations with units', () => {
    const config = readStorageConfig({
      ...base,
      S3_MULTIPART_THRESHOLD: '1GiB',
      S3_PART_SIZE: '64MiB',
      S3_PART_CONCURRENCY: '8',
      S3_REQUEST_TIMEOUT: '2m',
    });
    expect(config.endpoint).toBeUndefined();
    expect(config.multipartThreshold).toBe(1024 * MiB);
    expect(config.partSize).toBe(64 * MiB);
    expect(config.partConcurrency).toBe(8);
    expect(config.requestTimeoutMs).toBe(120_000);
  });

  it.each([
    [{}, 'S3_ACCESS_KEY is required but not set; example: S3_ACCESS_KEY=test:tester'],
    [{ ...base, S3_ENDPOINT: 'ftp://x' }, 'S3_ENDPOINT is invalid ("ftp://x")'],
    [{ ...base, S3_BUCKET: 'Bad_Bucket' }, 'S3_BUCKET is invalid'],
    [{ ...base, S3_PART_SIZE: '1MiB' }, 'S3_PART_SIZE is invalid ("1MiB"): must be at least 5MiB'],
    [{ ...base, S3_MAX_PARTS: 'many' }, 'S3_MAX_PARTS is invalid'],
  ])('names the bad variable in one line: %j', (env, message) => {
    expect(() => readStorageConfig(env)).toThrow(ConfigError);
    expect(() => readStorageConfig(env)).toThrow(message);
  });
});

describe('planParts', () => {
  it('uses the chunk size until maxParts forces bigger parts', () => {
    expect(planParts(200 * MiB, 8 * MiB, 1000)).toEqual({ partSize: 8 * MiB, count: 25 });
    // 1 TiB in at most 1000 parts (Swift): ceil(size / 1000) rounded up to whole MiB.
    const tib = 1024 * 1024 * MiB;
    const plan = planParts(tib, 8 * MiB, 1000);
    expect(plan.count).toBeLessThanOrEqual(1000);
    expect(plan.partSize).toBe(1049 * MiB);
  });
});
