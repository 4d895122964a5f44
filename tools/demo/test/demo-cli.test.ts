import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { createTestDatabase, type TestDatabase } from '@audio/db/testing';

const REPO = path.resolve(import.meta.dirname, '../../..');
let database: TestDatabase;
let scratch: string;

/** `pnpm demo` as a user runs it, in a process of its own, on the services of the test run. */
function runDemo(args: string[]) {
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

beforeAll(async () => {
  database = await createTestDatabase();
  scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'demo-test-scratch-'));
});
afterAll(async () => {
  await database?.drop();
  fs.rmSync(scratch, { recursive: true, force: true });
});

describe('pnpm demo', () => {
  it('runs the sample archive end to end and prints the JSON summary as the last line', async () => {
    const result = await runDemo(['--json']);
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
    // The readable summary comes first.
    expect(result.stdout).toContain('8 succeeded, 2 failed, 2 flagged');
  }, 240_000);

  it('exits non-zero, naming the input, when it cannot run', async () => {
    const result = await runDemo(['/nonexistent/archive.tar']);
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toContain('archive /nonexistent/archive.tar does not exist');
  }, 60_000);
});
