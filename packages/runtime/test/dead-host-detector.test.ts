import crypto from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Queue } from 'bullmq';
import { BatchRepository, createDb, type Db } from '@audio/db';
import { createTestDatabase, type TestDatabase } from '@audio/db/testing';
import { createLogger } from '@audio/logger';
import {
  createRedisConnection,
  HeartbeatPublisher,
  readHostsLastSeen,
  readRedisConfig,
  scanKeys,
  stageJob,
  UNPACK_QUEUE,
  type RedisClient,
} from '@audio/queues';
import { ObjectStore, readStorageConfig } from '@audio/storage';
import { DeadHostDetector, type DeadHostReplay } from '../src/index.js';

const logger = createLogger({ name: 'dead-host-test', level: 'silent' });
const prefix = `{dead-host-${crypto.randomBytes(4).toString('hex')}}`;
const GRACE = 60_000;
const archive = Buffer.from('an archive');

let database: TestDatabase;
let db: Db;
let redis: RedisClient;
let store: ObjectStore;
let unpackQueue: Queue;
let batches: BatchRepository;
let seq = 0;

/** A batch `host` started (run 0); `unpacked` unless told otherwise. */
async function ownedBatch(host: string, status: 'unpacking' | 'unpacked' = 'unpacked'): Promise<string> {
  const batchId = `20250622-1430${String(seq++).padStart(2, '0')}-${crypto.randomBytes(3).toString('hex')}`;
  const archiveKey = `archives/${batchId}.tar`;
  await store.putBytes(archiveKey, archive);
  await batches.create({
    batchId,
    archiveKey,
    sha256: crypto.createHash('sha256').update(archive).digest('hex'),
    sizeBytes: archive.length,
    source: 'test',
    transferredAt: new Date(),
  });
  await batches.markUnpacking(batchId, host, { run: 0 });
  if (status === 'unpacked') await batches.markUnpacked(batchId, { fileCount: 1 });
  return batchId;
}

/** A host that beat at `at` and whose heartbeat has expired since (its last-seen time stays). */
async function silentSince(hostId: string, at: Date): Promise<void> {
  await redis.hset(`${prefix}:hosts:last-seen`, hostId, String(at.getTime()));
}

function detector(hostId: string, now: () => Date, replayed: string[] = []) {
  return new DeadHostDetector(
    { redis, prefix, hostId, batches, store, unpackQueue, logger, now, onReplay: (h) => replayed.push(h) },
    { graceMs: GRACE, intervalMs: 1000 },
  );
}

beforeAll(async () => {
  database = await createTestDatabase();
  db = createDb({ databaseUrl: database.databaseUrl, poolSize: 4, connectionTimeoutMs: 60_000 });
  const env = { ...process.env, QUEUE_PREFIX: prefix };
  redis = createRedisConnection(readRedisConfig(env), 'worker');
  store = ObjectStore.fromConfig(readStorageConfig(env));
  unpackQueue = new Queue(UNPACK_QUEUE, { connection: redis, prefix });
  batches = new BatchRepository(db);
});
afterAll(async () => {
  await unpackQueue?.close();
  await scanKeys(redis, `${prefix}:*`, async (keys) => void (await redis.del(...keys)));
  redis?.disconnect();
  store?.destroy();
  await db?.close();
  await database?.drop();
});

describe('DeadHostDetector', () => {
  it('replays the batches of a host silent past the grace once, however many detectors race', async () => {
    const now = new Date();
    const dead = await ownedBatch('dead-1');
    // Its unpack job waits (a stalled one goes back to waiting): BullMQ runs it again, no replay.
    const stillQueued = await ownedBatch('dead-1', 'unpacking');
    const job = stageJob(
      'unpack',
      { batchId: stillQueued, s3Key: `archives/${stillQueued}.tar`, transferredAt: now.toISOString() },
      { jobId: stillQueued },
    );
    await unpackQueue.add(job.name, job.data, job.opts);
    await silentSince('dead-1', new Date(now.getTime() - GRACE - 1000));

    const recent = await ownedBatch('recent-1'); // silent, but not for long
    await silentSince('recent-1', new Date(now.getTime() - GRACE + 5000));
    const alive = await ownedBatch('alive-1'); // beating, whatever its last-seen says
    await new HeartbeatPublisher(
      redis,
      prefix,
      { hostId: 'alive-1', app: 'gpu', version: '0', queues: [] },
      async () => ({
        activeJobs: 0,
        freeScratchBytes: null,
      }),
    ).beat();
    await silentSince('alive-1', new Date(0));

    const counted: string[] = [];
    const detectors = ['det-a', 'det-b', 'det-c'].map((h) => detector(h, () => now, counted));
    const rounds: DeadHostReplay[][] = [];
    for (let round = 0; round < 3; round++)
      rounds.push(...(await Promise.all(detectors.map((d) => d.check()))));
    const replays = rounds.flat();

    expect(replays.map((r) => [r.batchId, r.deadHost, r.run])).toEqual([[dead, 'dead-1', 1]]);
    expect(counted).toEqual(['dead-1']);
    expect(await unpackQueue.getJob(`${dead}-replay-1`)).toBeTruthy();
    for (const id of [stillQueued, recent, alive])
      expect((await unpackQueue.getJobs(['waiting'])).some((j) => j.id?.startsWith(`${id}-replay`))).toBe(
        false,
      );

    // The replay starts on a live host: the batch is that host's now, and a later look leaves it alone.
    await batches.markUnpacking(dead, 'live-2', { run: 1 });
    await batches.markUnpacked(dead, { fileCount: 1 });
    expect(await detector('det-a', () => now).check()).toEqual([]);
    // Out of the next case's way.
    await db.prisma.batch.updateMany({
      where: { batchId: { in: [dead, stillQueued, recent, alive] } },
      data: { status: 'complete' },
    });
  });

  it('counts the grace of a host it never saw beat from when it first noticed it', async () => {
    const ghost = await ownedBatch('ghost-1');
    const first = new Date();
    expect(await detector('det-a', () => first).check()).toEqual([]);
    expect((await readHostsLastSeen(redis, prefix)).get('ghost-1')).toEqual(first);
    const later = new Date(first.getTime() + GRACE);
    const replays = await detector('det-b', () => later).check();
    expect(replays.map((r) => r.batchId)).toEqual([ghost]);
  });
});
