import { describe, expect, it } from '@jest/globals';
import { Redis } from 'ioredis';
import { configuredDatabaseUrl } from '../src/postgres.js';
import { configuredRedisUrl } from '../src/redis.js';
import { configuredS3 } from '../src/s3.js';
import { ensureServices } from '../src/services.js';
import { isAlive } from '../src/state.js';

describe('configured URLs', () => {
  it('builds them from the seeds’ variable names, URL first', () => {
    expect(configuredRedisUrl({ REDIS_HOST: 'cache', REDIS_PORT: '6380', REDIS_PASSWORD: 'p w' })).toBe(
      'redis://:p%20w@cache:6380',
    );
    expect(configuredRedisUrl({ REDIS_URL: 'redis://a:1', REDIS_HOST: 'b' })).toBe('redis://a:1');
    expect(configuredDatabaseUrl({ POSTGRES_HOST: 'db', POSTGRES_USER: 'app', POSTGRES_DB: 'audio' })).toBe(
      'postgresql://app@db:5432/audio',
    );
    expect(configuredS3({})).toBeUndefined();
    expect(configuredS3({ S3_ENDPOINT: 'http://s3:9000' })?.bucket).toBe('audio-pipeline');
  });
});

describe('ensureServices', () => {
  it('starts what does not answer, says so, and stops only what it started', async () => {
    const lines: string[] = [];
    const services = await ensureServices({
      // Nothing listens on port 1: a local Redis must be started. S3 is not configured: s3rver, the light one.
      env: { ...process.env, REDIS_URL: 'redis://127.0.0.1:1', S3_ENDPOINT: '' },
      s3Server: 's3rver',
      log: (line) => lines.push(line),
    });
    try {
      const redis = services.reports.find((r) => r.name === 'redis')!;
      expect(redis.origin).toBe('started');
      expect(services.env.REDIS_URL).toMatch(/^redis:\/\/127\.0\.0\.1:\d+$/);
      const client = new Redis(services.env.REDIS_URL!);
      expect(await client.ping()).toBe('PONG');
      expect(await client.config('GET', 'maxmemory-policy')).toEqual(['maxmemory-policy', 'noeviction']);
      client.disconnect();
      expect(services.reports.find((r) => r.name === 's3')).toMatchObject({ origin: 'started' });
      expect(services.env.S3_BUCKET).toBe('audio-pipeline');
    } finally {
      await services.stop();
    }
    for (const service of services.started) for (const pid of service.pids) expect(isAlive(pid)).toBe(false);
  }, 120_000);
});
