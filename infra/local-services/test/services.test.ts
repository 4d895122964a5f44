import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
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

describe('services run', () => {
  it('exits 143, not the command’s 0, when it is stopped with SIGTERM (turbo told to stop exits 0)', async () => {
    const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'services-run-'));
    // The command says it runs, then exits 0 when told to stop, as turbo does.
    const runner = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        path.join(import.meta.dirname, '../src/cli.ts'),
        'run',
        '--s3',
        's3rver',
        '--',
        'bash',
        '-c',
        'trap "exit 0" TERM; echo command-running; while :; do sleep 0.1; done',
      ],
      {
        env: { ...process.env, LOCAL_SERVICES_DIR: stateDir, S3_ENDPOINT: '' },
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
    try {
      await new Promise<void>((resolve, reject) => {
        runner.stdout.on('data', (chunk: Buffer) => {
          if (chunk.toString().includes('command-running')) resolve();
        });
        runner.once('exit', (code) =>
          reject(new Error(`services run exited ${code} before the command started`)),
        );
      });
      const exited = new Promise<number | null>((resolve) => runner.once('exit', (code) => resolve(code)));
      runner.kill('SIGTERM');
      expect(await exited).toBe(143);
    } finally {
      runner.kill('SIGKILL');
      fs.rmSync(stateDir, { recursive: true, force: true });
    }
  }, 180_000);
});
