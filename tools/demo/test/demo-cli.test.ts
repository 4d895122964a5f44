import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { createTestDatabase, type TestDatabase } from '@audio/db/testing';
import { createRedisConnection } from '@audio/queues';

const REPO = path.resolve(import.meta.dirname, '../../..');
let database: TestDatabase;
let scratch: string;
let home: string;

/** `pnpm demo` on the services of the test run, with its own database, queues and scratch. */
function runDemoOnTestServices(args: string[]) {
  const id = crypto.randomBytes(3).toString('hex');
  return execa(
    process.execPath,
    ['--import', 'tsx', '--conditions=development', 'tools/demo/src/demo-cli.ts', ...args],
    {
      cwd: REPO,
      reject: false,
      env: {
        ...process.env,
        NODE_OPTIONS: '',
        DATABASE_URL: database.databaseUrl,
        QUEUE_PREFIX: `{demo-test-${id}}`,
        HOST_ID: `demo-test-${id}`,
        SCRATCH_ROOT: scratch,
        SCRATCH_MIN_FREE: '0',
      },
    },
  );
}

/** What a newcomer's shell holds: none of the pipeline's settings, so the demo finds or starts its services. */
function newcomerEnv(tmp: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, TMPDIR: tmp, NODE_OPTIONS: '' };
  for (const key of Object.keys(env)) {
    if (
      /^(REDIS_|DATABASE_URL|POSTGRES_|S3_|SCRATCH_|QUEUE_PREFIX|HOST_ID|TRANSFER_|SIDECAR_|LOCAL_SERVICES_)/.test(
        key,
      )
    )
      delete env[key];
  }
  return env;
}

async function redisKeys(url: string, pattern: string): Promise<string[]> {
  const redis = createRedisConnection({ url, prefix: '' }, 'worker');
  try {
    return await redis.keys(pattern);
  } finally {
    redis.disconnect();
  }
}

beforeAll(async () => {
  database = await createTestDatabase();
  scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'demo-test-scratch-'));
  home = fs.mkdtempSync(path.join(os.tmpdir(), 'demo-test-newcomer-'));
  fs.chmodSync(home, 0o755); // an embedded PostgreSQL started by the demo runs as another user
});
afterAll(async () => {
  await database?.drop();
  fs.rmSync(scratch, { recursive: true, force: true });
  fs.rmSync(home, { recursive: true, force: true });
});

describe('pnpm demo', () => {
  it('runs the sample archive end to end and prints the JSON summary as the last line', async () => {
    // The README's first command, as a newcomer types it in the checkout: pnpm, the root script, services
    // found or started by the demo itself, scratch under its own temporary directory.
    const result = await execa('pnpm', ['demo', '--json'], {
      cwd: REPO,
      reject: false,
      env: newcomerEnv(home),
    });
    if (result.exitCode !== 0) throw new Error(`pnpm demo failed (${result.exitCode}):\n${result.stderr}`);
    expect(result.exitCode).toBe(0);
    const lines = result.stdout.trim().split('\n');
    const summary = JSON.parse(lines.at(-1)!) as { batches: Record<string, unknown>[] };
    expect(summary.batches).toHaveLength(1);
    const batch = summary.batches[0]!;
    expect(batch).toMatchObject({
      archive: 'sample-calls.tar',
      status: 'complete',
      files: 10,
      succeeded: 8,
      flagged: 2,
      scratchCleaned: true,
    });
    expect(batch.batchId).toMatch(/^\d{8}-\d{6}-[0-9a-f]{6}$/);
    const failed = batch.failed as { entry: string; reason: string }[];
    expect(failed.map((f) => [path.basename(f.entry), f.reason]).sort()).toEqual([
      ['README.txt', 'not_mp3'],
      ['call-broken.mp3', 'decode_error'],
    ]);
    const s3 = batch.s3 as { archive: string; processed: string[] };
    expect(s3.archive).toBe(`archives/${String(batch.batchId)}.tar`);
    expect(s3.processed).toHaveLength(8);
    for (const key of s3.processed)
      expect(key).toMatch(/^processed\/\d{4}-\d{2}-\d{2}\/[0-9a-f-]{36}\.opus$/);
    for (const f of batch.failed as { stage: string; message: string }[]) {
      expect(f.stage).toMatch(/^(unpack|convert)$/);
      expect(f.message.length).toBeGreaterThan(10);
    }
    // The readable summary comes first.
    expect(result.stdout).toContain('8 succeeded, 2 failed, 2 flagged');
    // Scratch is really gone, not only reported so; the run's queue keys are gone too.
    const demoScratch = path.join(home, 'audio-pipeline-demo', 'scratch');
    expect(fs.existsSync(path.join(demoScratch, String(batch.batchId)))).toBe(false);
    expect(fs.readdirSync(demoScratch)).toEqual([]);
    // Its queues were its own and are gone (when it used a Redis it found; one it started is stopped).
    const prefix = /queues (\{demo-[0-9a-f]+\})/.exec(result.stderr)?.[1];
    expect(prefix).toBeDefined();
    const foundRedis = /^redis\s+using\s+(\S+)/m.exec(result.stderr)?.[1];
    if (foundRedis) expect(await redisKeys(foundRedis, `${prefix!}:*`)).toEqual([]);
  });

  it('exits non-zero, naming the input, when it cannot run', async () => {
    const result = await runDemoOnTestServices(['/nonexistent/archive.tar']);
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toContain('archive /nonexistent/archive.tar does not exist');
  });
});
