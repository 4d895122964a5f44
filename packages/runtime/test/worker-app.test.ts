import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import net from 'node:net';
import path from 'node:path';
import { afterAll, describe, expect, it } from '@jest/globals';
import { Queue } from 'bullmq';
import { freePort } from '@audio/local-services';
import { createLogger } from '@audio/logger';
import { MissingHandlerError, readHeartbeats, stageJob } from '@audio/queues';
import { releaseOf, startWorkerApp } from '../src/index.js';

const logger = createLogger({ name: 'worker-app-test', level: 'silent' });
const prefix = `{runtime-${crypto.randomBytes(4).toString('hex')}}`;
const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'runtime-test-'));
const env = { ...process.env, HOST_ID: 'runtime-test', QUEUE_PREFIX: prefix, SCRATCH_ROOT: scratch };

afterAll(() => fs.rmSync(scratch, { recursive: true, force: true }));

describe('startWorkerApp', () => {
  it('fails at start when a stage it serves has no handler, and closes what setup opened', async () => {
    let closed = false;
    await expect(
      startWorkerApp({
        app: 'test',
        version: '0',
        serves: ['convert'],
        env,
        logger,
        setup: () => ({ handlers: {}, close: async () => void (closed = true) }),
      }),
    ).rejects.toThrow(MissingHandlerError);
    expect(closed).toBe(true);
  });

  it('runs the registered handlers and names its queues, release and models in its heartbeat', async () => {
    const handled: number[] = [];
    const app = await startWorkerApp({
      app: 'test',
      version: '1.2.3',
      serves: ['finalize'],
      env: { ...env, PIPELINE_RELEASE: '2026.11.2' },
      logger,
      setup: () => ({
        models: () => ({ whisperx: 'large-v3-2025-01', 'cope-a-lora': 'unversioned' }),
        handlers: {
          finalize: {
            concurrency: 1,
            handle: async (payload) => void handled.push(payload.files),
          },
        },
      }),
    });
    const queue = new Queue('finalize-runtime-test', { connection: app.context.redis, prefix });
    try {
      const job = stageJob(
        'finalize',
        { batchId: '20250622-143052-a1b2c3', hostId: 'runtime-test', files: 3, refused: 0, archiveKey: 'a' },
        { hostId: 'runtime-test', jobId: 'f1' },
      );
      await queue.add(job.name, job.data, job.opts);
      const deadline = Date.now() + 30_000;
      while (handled.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      expect(handled).toEqual([3]);
      const beats = await readHeartbeats(app.context.redis, prefix);
      expect(beats).toMatchObject([
        {
          hostId: 'runtime-test',
          app: 'test',
          version: '1.2.3',
          queues: ['finalize-runtime-test'],
          release: '2026.11.2',
          models: { whisperx: 'large-v3-2025-01', 'cope-a-lora': 'unversioned' },
        },
      ]);
    } finally {
      await queue.obliterate({ force: true });
      await queue.close();
      await app.close();
    }
  }, 60_000);
});

describe('releaseOf', () => {
  it('reads the VERSION of the release an entry script belongs to, or PIPELINE_RELEASE', () => {
    const release = fs.mkdtempSync(path.join(os.tmpdir(), 'release-test-'));
    try {
      fs.mkdirSync(path.join(release, 'apps', 'gpu', 'dist'), { recursive: true });
      const entry = path.join(release, 'apps', 'gpu', 'dist', 'main.js');
      expect(releaseOf({}, entry)).toEqual({}); // no VERSION + release.json: a checkout
      fs.writeFileSync(path.join(release, 'VERSION'), '1.4.0\n');
      fs.writeFileSync(path.join(release, 'release.json'), '{}');
      expect(releaseOf({}, entry)).toEqual({ release: '1.4.0' });
      expect(releaseOf({ PIPELINE_RELEASE: '1.5.0' }, entry)).toEqual({ release: '1.5.0' });
    } finally {
      fs.rmSync(release, { recursive: true, force: true });
    }
  });
});

describe('startWorkerApp on a bad configuration', () => {
  it('stops with the ConfigError naming the variable, and leaves the metrics port free', async () => {
    const port = await freePort();
    const bad = { ...env, METRICS_PORT: String(port), METRICS_HOST: '127.0.0.1', S3_PART_SIZE: 'lots' };
    await expect(
      startWorkerApp({
        app: 'test',
        version: '0',
        serves: [],
        env: bad,
        logger,
        setup: () => ({ handlers: {} }),
      }),
    ).rejects.toThrow(/^S3_PART_SIZE is invalid/);
    const server = net.createServer();
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', resolve);
    });
    await new Promise((resolve) => server.close(resolve));
  });
});
