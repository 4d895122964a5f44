import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Queue } from 'bullmq';
import { makeManyFileArchive, SAMPLE_SENTENCES } from '@audio/fixtures';
import { startRedisCluster, type RedisCluster } from '@audio/local-services';
import {
  batchJobIds,
  createRedisConnection,
  finalizeQueueName,
  readHeartbeats,
  readRedisConfig,
  scanKeys,
  transcribeQueueName,
  waitForReplica,
  type RedisClient,
} from '@audio/queues';
import {
  batchRowCounts,
  createPipelineTestEnv,
  FAST_STALL_RECOVERY,
  startInProcessApps,
  waitFor,
  waitForBatchDone,
  type InProcessApps,
  type PipelineTestEnv,
} from './support/index.js';

const FILES = 40;
let cluster: RedisCluster;
let work: string;

beforeAll(async () => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'cluster-e2e-'));
  // A short node timeout: a killed master's replica is promoted within seconds.
  cluster = await startRedisCluster(path.join(work, 'redis'), { nodeTimeoutMs: 2000 });
});
afterAll(async () => {
  await cluster?.stop();
  fs.rmSync(work, { recursive: true, force: true });
});

/** Other sentences than the first archive's: another sha256, so a batch of its own (not a duplicate). */
const otherTexts = (tag: string) => SAMPLE_SENTENCES.map((s) => `${s} ${tag}`);

describe('the pipeline on a Redis Cluster of three masters and three replicas', () => {
  let t: PipelineTestEnv;
  let apps: InProcessApps;

  beforeAll(async () => {
    t = await createPipelineTestEnv('cluster', { REDIS_CLUSTER_NODES: cluster.nodeList });
    apps = await startInProcessApps(t);
  });
  afterAll(async () => {
    await apps?.close();
    await t?.close();
  });

  it('runs batches end to end through the cluster client: every file once in the database and S3', async () => {
    const archives = await Promise.all(
      ['a', 'b'].map(async (name) => {
        const file = path.join(work, `${name}.tar`);
        return { file, good: await makeManyFileArchive(file, FILES, otherTexts(name)) };
      }),
    );
    const batchIds: string[] = [];
    for (const a of archives) batchIds.push(await apps.ingest(a.file));
    expect(new Set(batchIds).size).toBe(2);

    for (const batchId of batchIds) {
      const batch = await waitForBatchDone(t.db, batchId);
      expect(batch).toMatchObject({ status: 'complete', succeededCount: FILES, failedCount: 0 });
      expect(await batchRowCounts(t.db, batchId)).toEqual({
        audioFiles: FILES,
        transcripts: FILES,
        classifications: FILES,
        failures: 0,
      });
      const rows = await t.db.prisma.audioFile.findMany({ where: { batchId } });
      expect(new Set(rows.map((r) => r.s3OpusPath)).size).toBe(rows.length);
      for (const row of rows) expect(await t.store.exists(row.s3OpusPath!)).toBe(true);
    }

    // Every queue key carries the prefix's hash tag: one slot, so one master (with its replica) holds it.
    const owner = await cluster.ownerOf(`${t.prefix}:unpack:meta`);
    expect(owner.replicas).toHaveLength(1);

    // What the dashboard reads: heartbeats and queue keys, scanned on every master of the cluster.
    const redis = createRedisConnection(readRedisConfig(t.env), 'worker', 'cluster-test');
    try {
      const beats = await readHeartbeats(redis, t.prefix);
      expect(beats.map((b) => b.app).sort()).toEqual(['gpu', 'unpack']);
      const metaKeys = await scanKeys(redis, `${t.prefix}:*:meta`);
      expect(metaKeys.length).toBeGreaterThanOrEqual(4);
      // What the transfer app does after queueing an archive's unpack job: its master's replica has it.
      await redis.set(`${t.prefix}:replicated`, '1');
      expect(await waitForReplica(redis, `${t.prefix}:replicated`, 60_000)).toBe(1);
    } finally {
      redis.disconnect();
    }
  });
});

describe('the master holding the queues SIGKILLed mid-batch, its replica promoted', () => {
  const KILLED_FILES = 120;
  let t: PipelineTestEnv;
  let apps: InProcessApps;
  let redis: RedisClient;
  let transcribeQueue: Queue;
  let finalizeQueue: Queue;

  beforeAll(async () => {
    t = await createPipelineTestEnv('failover', {
      REDIS_CLUSTER_NODES: cluster.nodeList,
      // The lock of a job whose completion the dead master never passed on to its replica expires
      // soon, and the job runs again (idempotent).
      ...FAST_STALL_RECOVERY,
      // A worker the failover left fetching nothing is replaced after two checks with jobs waiting.
      FETCH_WATCHDOG_INTERVAL: '3s',
      // A floor under the batch's duration (simulated inference), so that it is still running when the
      // master is killed however fast the machine: 120 files × 50 ms.
      FIXTURE_SECONDS_PER_ITEM: '0.05',
    });
    apps = await startInProcessApps(t);
    redis = createRedisConnection(readRedisConfig(t.env), 'worker', 'failover-test');
    transcribeQueue = new Queue(transcribeQueueName(t.hostId), { connection: redis, prefix: t.prefix });
    finalizeQueue = new Queue(finalizeQueueName(t.hostId), { connection: redis, prefix: t.prefix });
  });
  afterAll(async () => {
    await transcribeQueue?.close();
    await finalizeQueue?.close();
    redis?.disconnect();
    await apps?.close();
    await t?.close();
  });

  it('the batch completes: every file exactly once in the database and S3, the flow parent finalised', async () => {
    const archive = path.join(work, 'failover.tar');
    const good = await makeManyFileArchive(archive, KILLED_FILES, otherTexts('failover'));
    const batchId = await apps.ingest(archive);

    // Kill while the workers hold jobs: some files done, some in their hands, the rest still coming.
    const owner = await cluster.ownerOf(`${t.prefix}:unpack:meta`);
    expect(owner.replicas).toHaveLength(1);
    await waitFor('the batch to be mid-way', async () => {
      const done = await t.db.prisma.audioFile.count({ where: { batchId } });
      const active = await transcribeQueue.getActiveCount();
      return done >= 5 && active > 0 ? true : undefined;
    });
    await cluster.kill(owner.master);
    const doneAtKill = await t.db.prisma.audioFile.count({ where: { batchId, s3OpusPath: { not: null } } });
    expect(doneAtKill).toBeLessThan(KILLED_FILES);

    // Automatic failover: the replica takes the master's slots (no CLUSTER FAILOVER from us).
    await waitFor('the replica to be promoted', async () =>
      (await cluster.role(owner.replicas[0]!)) === 'master' ? true : undefined,
    );
    await cluster.waitHealthy();

    const batch = await waitForBatchDone(t.db, batchId);
    expect(batch).toMatchObject({ status: 'complete', succeededCount: KILLED_FILES, failedCount: 0 });
    expect(await batchRowCounts(t.db, batchId)).toEqual({
      audioFiles: KILLED_FILES,
      transcripts: KILLED_FILES,
      classifications: KILLED_FILES,
      failures: 0,
    });
    const rows = await t.db.prisma.audioFile.findMany({ where: { batchId } });
    expect(new Set(rows.map((r) => r.originalFilename))).toEqual(new Set(Object.keys(good)));
    // One Opus object per file, at the key its row names, and no other of this batch's.
    const keys = new Set(rows.map((r) => r.s3OpusPath!));
    expect(keys.size).toBe(KILLED_FILES);
    const prefix = rows[0]!.s3OpusPath!.slice(0, rows[0]!.s3OpusPath!.lastIndexOf('/') + 1);
    const ids = new Set(rows.map((r) => r.id));
    const listed: string[] = [];
    for await (const object of t.store.listAll(prefix)) listed.push(object.key);
    expect(listed.filter((k) => ids.has(path.basename(k, '.opus'))).sort()).toEqual([...keys].sort());

    // The flow's parent ran on the new master: finalize completed, every child completed once.
    const finalize = await finalizeQueue.getJob(batchJobIds(batchId, 0).finalize);
    expect(await finalize?.getState()).toBe('completed');
    const transcribed = (await transcribeQueue.getJobs(['completed'])).filter(
      (j) => j.data.batchId === batchId,
    );
    expect(new Set(transcribed.map((j) => j.data.entry))).toEqual(new Set(Object.keys(good)));
    expect(transcribed).toHaveLength(KILLED_FILES);

    // The workers that were blocked on the dead master take new work: a batch ingested now completes.
    const after = path.join(work, 'after-failover.tar');
    await makeManyFileArchive(after, 10, otherTexts('after'));
    const afterId = await apps.ingest(after);
    expect(await waitForBatchDone(t.db, afterId)).toMatchObject({ status: 'complete', succeededCount: 10 });
  });
});
