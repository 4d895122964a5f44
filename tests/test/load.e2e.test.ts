import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { makeManyFileArchive } from '@audio/fixtures';
import { createLogger } from '@audio/logger';
import {
  configuredS3,
  ensureBucket,
  killPids,
  removeBucket,
  startRedis,
  type S3Settings,
} from '@audio/local-services';
import { createRedisConnection, readRedisConfig, type RedisClient } from '@audio/queues';
import { openTransferContext, type TransferContext } from '@audio/transfer';
import {
  createPipelineTestEnv,
  spawnApp,
  waitFor,
  type AppProcess,
  type PipelineTestEnv,
} from './support/index.js';
import { inventoryRedis, type RedisInventory } from './support/redis-inventory.js';

/**
 * Load: 50 archives of 200 MP3s through three hosts, each its own unpack and GPU processes (own HOST_ID
 * and scratch, the sidecar's fixture backend), on a Redis of the test's own so that its memory is this
 * pipeline's alone. Every file must land exactly once in Postgres and S3, and Redis must hold a bounded
 * number of keys however many files went through: the workers keep the newest KEEP_COMPLETED finished
 * jobs per queue (JOB_KEEP_COMPLETED_COUNT) and remove older ones as new ones finish. The figures
 * (duration, Redis memory per 10,000 files, peak) go to stderr and test-artifacts/load/summary.json.
 */
const BATCHES = 50;
const FILES_PER_BATCH = 200;
const FILES = BATCHES * FILES_PER_BATCH;
const HOSTS = ['h1', 'h2', 'h3'];
/** Finished jobs kept per queue: below each host's share of files, so that old jobs must go. */
const KEEP_COMPLETED = 500;
const SUMMARY = path.resolve(import.meta.dirname, '../../test-artifacts/load/summary.json');
const MiB = 1024 * 1024;

interface Sample {
  atMs: number;
  files: number;
  usedMemory: number;
  keys: number;
}

let t: PipelineTestEnv;
let redisPids: number[] = [];
let s3: S3Settings;
let transfer: TransferContext;
let redis: RedisClient;
let work: string;
const processes: AppProcess[] = [];
const logger = createLogger({ name: 'load-test', pretty: false, level: 'warn' });

const usedMemory = async () => Number(/used_memory:(\d+)/.exec(await redis.info('memory'))![1]);

beforeAll(async () => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'load-e2e-'));
  const privateRedis = await startRedis(work, () => undefined);
  redisPids = privateRedis.pids;
  const bucket = `load-${crypto.randomBytes(4).toString('hex')}`;
  t = await createPipelineTestEnv('load', {
    REDIS_URL: privateRedis.url,
    S3_BUCKET: bucket,
    JOB_KEEP_COMPLETED_COUNT: String(KEEP_COMPLETED),
    // About two archives in hand per host, so that all three share the 50.
    HOST_BACKLOG_LIMIT: String(2 * FILES_PER_BATCH),
    // Files of 0.1 s: ffmpeg's start-up is nearly all of a conversion's cost, so more files per process.
    CONVERT_BATCH_SIZE: '32',
  });
  s3 = configuredS3(t.env)!;
  await ensureBucket(s3);
  redis = createRedisConnection(readRedisConfig(t.env), 'worker', 'load-test');
  transfer = await openTransferContext({ env: t.env, logger });
});

afterAll(async () => {
  await Promise.all(processes.map((p) => p.kill('SIGTERM')));
  await transfer?.close();
  redis?.disconnect();
  await t?.close();
  if (s3) await removeBucket(s3).catch(() => undefined);
  await killPids(redisPids);
  fs.rmSync(work, { recursive: true, force: true });
});

describe(`load: ${BATCHES} batches × ${FILES_PER_BATCH} files through ${HOSTS.length} hosts`, () => {
  it('processes every file exactly once, and Redis keeps a bounded number of finished jobs', async () => {
    // Three hosts, each with its own id, scratch and processes.
    const hostIds = HOSTS.map((h) => `${t.hostId}-${h}`);
    await Promise.all(
      HOSTS.map(async (h, i) => {
        const scratch = path.join(t.scratchRoot, h);
        fs.mkdirSync(scratch);
        const env = { ...t.env, HOST_ID: hostIds[i], SCRATCH_ROOT: scratch, LOG_LEVEL: 'info' };
        for (const app of ['unpack', 'gpu'] as const) {
          const proc = spawnApp(app, env);
          processes.push(proc);
          await proc.waitForLog((l) => l.msg === `${app} app started`);
        }
      }),
    );

    // 50 distinct archives (a title per batch, so no two have the same sha256).
    const archives: { file: string; good: Record<string, string> }[] = [];
    for (let b = 0; b < BATCHES; b++) {
      const file = path.join(work, `batch-${b}.tar`);
      archives.push({
        file,
        good: await makeManyFileArchive(file, FILES_PER_BATCH, [`load batch ${b}`], { toneSeconds: 0.1 }),
      });
    }

    const baseline = await usedMemory();
    const started = Date.now();
    const samples: Sample[] = [];
    let sampling = true;
    const sample = async () => {
      samples.push({
        atMs: Date.now() - started,
        files: await t.db.prisma.audioFile.count({ where: { s3OpusPath: { not: null } } }),
        usedMemory: await usedMemory(),
        keys: await redis.dbsize(),
      });
    };
    // A record of memory over the run, not a synchronisation: the test waits on the batches below.
    const sampler = (async () => {
      while (sampling) {
        await sample();
        await new Promise((r) => setTimeout(r, 2000));
      }
    })();

    const batchIds: string[] = [];
    for (const a of archives) {
      batchIds.push((await transfer.ingester.ingest(a.file, { source: 'load-test' })).batchId);
    }
    const done = await waitFor(
      `all ${BATCHES} batches to finish`,
      async () => {
        const finished = await t.db.prisma.batch.findMany({
          where: { batchId: { in: batchIds }, status: { in: ['complete', 'failed'] } },
        });
        return finished.length === BATCHES ? finished : undefined;
      },
      2_400_000,
    ).finally(() => (sampling = false));
    const durationMs = Date.now() - started;
    await sampler;
    await sample();
    const hostsUsed = new Set(done.map((b) => b.host));

    // The figures first, so that a failing run still reports them.
    const inventory = await inventoryRedis(redis, t.prefix);
    const summary = loadSummary({
      durationMs,
      baseline,
      samples,
      inventory,
      hostsUsed: hostsUsed.size,
    });
    fs.mkdirSync(path.dirname(SUMMARY), { recursive: true });
    fs.writeFileSync(SUMMARY, `${JSON.stringify(summary, null, 2)}\n`);
    process.stderr.write(
      `[load] ${FILES} files (${BATCHES} batches × ${FILES_PER_BATCH}) through ${HOSTS.length} hosts in ` +
        `${summary.durationSeconds} s; Redis used_memory ${summary.redis.baselineMiB} MiB before, peak ` +
        `${summary.redis.peakMiB} MiB, ${summary.redis.finalMiB} MiB after: ` +
        `${summary.redis.growthMiBPer10kFiles} MiB per 10,000 files with ${KEEP_COMPLETED} finished jobs ` +
        `kept per queue; the jobs kept cost ${summary.redis.retainedJobMiBPer10kFiles} MiB per 10,000 files ` +
        `(what the default retention, a day and 100000 per queue, holds per 10,000 files of a day); ` +
        `${summary.redis.keys} keys. Summary: ${path.relative(process.cwd(), SUMMARY)}\n` +
        `[load] ${JSON.stringify(summary.redis)}\n`,
    );

    // Every batch complete, every file once, on all three hosts.
    for (const batch of done) {
      expect(batch).toMatchObject({ status: 'complete', succeededCount: FILES_PER_BATCH, failedCount: 0 });
    }
    expect([...hostsUsed].sort()).toEqual([...hostIds].sort());

    const rows = await t.db.prisma.audioFile.findMany({
      select: { batchId: true, originalFilename: true, s3OpusPath: true },
    });
    expect(rows).toHaveLength(FILES);
    for (const [i, batchId] of batchIds.entries()) {
      const names = rows.filter((r) => r.batchId === batchId).map((r) => r.originalFilename);
      expect(names.sort()).toEqual(Object.keys(archives[i]!.good).sort());
    }
    expect(await t.db.prisma.transcript.count()).toBe(FILES);
    expect(await t.db.prisma.classification.count()).toBe(FILES);
    expect(await t.db.prisma.processingFailure.count()).toBe(0);

    // S3 (the test's own bucket): one Opus object per file, exactly the keys the rows name.
    const opusKeys: string[] = [];
    for await (const object of t.store.listAll('processed/')) opusKeys.push(object.key);
    expect(opusKeys).toHaveLength(FILES);
    expect(new Set(opusKeys)).toEqual(new Set(rows.map((r) => r.s3OpusPath)));

    // Redis: every key is a queue's, a retained job's or an app's; each queue keeps at most
    // KEEP_COMPLETED finished jobs and a capped events stream, whatever the number of files.
    const maxStreamNode = Number(((await redis.config('GET', 'stream-node-max-entries')) as string[])[1]);
    for (const q of inventory.queues) {
      expect({ queue: q.queue, orphans: q.orphanJobs }).toEqual({ queue: q.queue, orphans: [] });
      expect(q.states).toEqual({ ...zeroStates, completed: q.states.completed });
      expect(q.states.completed).toBeLessThanOrEqual(KEEP_COMPLETED);
      expect(q.jobsWithKeys).toBe(q.states.completed);
      // XTRIM MAXLEN ~ trims whole stream nodes: up to one node over the cap.
      expect(q.eventsLength).toBeLessThanOrEqual(q.maxLenEvents + maxStreamNode);
    }
    // convert and transcribe ran 10,000 jobs each, spread over the hosts: old ones were removed.
    for (const stage of ['convert', 'transcribe']) {
      const retained = inventory.queues.filter((q) => q.stage === stage);
      expect(retained).toHaveLength(HOSTS.length);
      expect(retained.reduce((sum, q) => sum + q.states.completed, 0)).toBeLessThan(FILES);
    }
    // Besides the queues: the processes' heartbeats and one last-seen hash of all hosts (the dead-host
    // detector's), however many files went through.
    expect(Object.keys(inventory.appKeys).sort()).toEqual(['heartbeat', 'hosts']);
    expect(inventory.appKeys.hosts).toBe(1);
  }, 2_700_000);
});

const zeroStates = {
  completed: 0,
  failed: 0,
  waiting: 0,
  active: 0,
  delayed: 0,
  prioritized: 0,
  waitingChildren: 0,
};

function loadSummary(input: {
  durationMs: number;
  baseline: number;
  samples: Sample[];
  inventory: RedisInventory;
  hostsUsed: number;
}) {
  const { samples, inventory } = input;
  const final = samples.at(-1)!;
  const peak = Math.max(...samples.map((s) => s.usedMemory));
  const mib = (bytes: number) => Math.round((bytes / MiB) * 100) / 100;
  // What one file's jobs cost while they are kept: its convert and transcribe jobs, and its share of
  // its batch's finalize and unpack jobs.
  const perJob = (stage: string) => {
    const queues = inventory.queues.filter((q) => q.stage === stage);
    const jobs = queues.reduce((sum, q) => sum + q.states.completed, 0);
    return jobs ? queues.reduce((sum, q) => sum + q.jobBytes, 0) / jobs : 0;
  };
  const bytesPerFile =
    perJob('convert') + perJob('transcribe') + (perJob('finalize') + perJob('unpack')) / FILES_PER_BATCH;
  return {
    files: FILES,
    batches: BATCHES,
    filesPerBatch: FILES_PER_BATCH,
    hosts: input.hostsUsed,
    durationSeconds: Math.round(input.durationMs / 1000),
    filesPerSecond: Math.round((FILES / input.durationMs) * 1000 * 10) / 10,
    retention: { keepCompletedPerQueue: KEEP_COMPLETED },
    redis: {
      baselineMiB: mib(input.baseline),
      peakMiB: mib(peak),
      finalMiB: mib(final.usedMemory),
      growthMiBPer10kFiles: mib(((final.usedMemory - input.baseline) / FILES) * 10_000),
      retainedJobMiBPer10kFiles: mib(bytesPerFile * 10_000),
      keys: inventory.keys,
      keysPerFile: Math.round((inventory.keys / FILES) * 1000) / 1000,
      queues: inventory.queues.map((q) => ({
        queue: q.queue,
        completed: q.states.completed,
        jobKeys: q.jobKeys,
        jobMiB: mib(q.jobBytes),
        events: q.eventsLength,
        eventsMiB: mib(q.eventsBytes),
      })),
    },
    samples: samples.map((s) => ({
      seconds: Math.round(s.atMs / 1000),
      files: s.files,
      usedMiB: mib(s.usedMemory),
      keys: s.keys,
    })),
  };
}
