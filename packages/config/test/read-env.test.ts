import { describe, expect, it } from '@jest/globals';
import { z } from 'zod';
import {
  ConfigError,
  bytesFromEnv,
  durationFromEnv,
  envConfig,
  envVar,
  fromEnv,
  integerFromEnv,
  readEnv,
} from '../src/index.js';

const schema = z.object({
  REDIS_URL: envVar(z.url(), 'redis://127.0.0.1:6379'),
  CONCURRENCY: envVar(integerFromEnv(1, 64).default(4), '8'),
  PART_SIZE: envVar(bytesFromEnv.default(8 * 1024 * 1024), '16MiB'),
  STUCK_AFTER: envVar(durationFromEnv.default(2 * 3_600_000), '90m'),
});

describe('readEnv', () => {
  it('parses values and applies defaults', () => {
    const env = readEnv(schema, { REDIS_URL: 'redis://h:1', PART_SIZE: '100MB', CONCURRENCY: '' });
    expect(env).toEqual({
      REDIS_URL: 'redis://h:1',
      CONCURRENCY: 4,
      PART_SIZE: 100_000_000,
      STUCK_AFTER: 7_200_000,
    });
  });

  it('names a missing variable and shows an example', () => {
    expect(() => readEnv(schema, {})).toThrow(
      new ConfigError(
        'REDIS_URL',
        'REDIS_URL is required but not set; example: REDIS_URL=redis://127.0.0.1:6379',
      ),
    );
  });

  it('names a malformed variable with the value and the reason', () => {
    expect(() => readEnv(schema, { REDIS_URL: 'redis://h:1', CONCURRENCY: 'lots' })).toThrow(
      /^CONCURRENCY is invalid \("lots"\): .*; example: CONCURRENCY=8$/,
    );
    expect(() => readEnv(schema, { REDIS_URL: 'redis://h:1', PART_SIZE: '12 parsecs' })).toThrow(
      /PART_SIZE is invalid .*must be a size/,
    );
  });

  it('reads durations in several units', () => {
    expect(readEnv(schema, { REDIS_URL: 'redis://h', STUCK_AFTER: '1.5s' }).STUCK_AFTER).toBe(1500);
  });

  it('reads a schema piped into a config object, naming the variable on a bad value', () => {
    const config = schema.transform((e) => ({ url: e.REDIS_URL, concurrency: e.CONCURRENCY }));
    expect(readEnv(config, { REDIS_URL: 'redis://h:1', CONCURRENCY: '2', UNRELATED: 'x' })).toEqual({
      url: 'redis://h:1',
      concurrency: 2,
    });
    expect(() => readEnv(config, { REDIS_URL: 'redis://h:1', CONCURRENCY: '0' })).toThrow(
      'CONCURRENCY is invalid ("0")',
    );
  });

  it('reads an envConfig: each field names its variable once', () => {
    const config = envConfig({
      url: fromEnv('REDIS_URL', z.url(), 'redis://127.0.0.1:6379'),
      concurrency: fromEnv('CONCURRENCY', integerFromEnv(1, 64).default(4), '8'),
    });
    expect(readEnv(config, { REDIS_URL: 'redis://h:1' })).toEqual({ url: 'redis://h:1', concurrency: 4 });
    expect(() => readEnv(config, { REDIS_URL: 'redis://h:1', CONCURRENCY: '0' })).toThrow(
      /^CONCURRENCY is invalid \("0"\): .*; example: CONCURRENCY=8$/,
    );
  });
});
