import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { makeManyFileArchive } from '@audio/fixtures';
import { startRedisCluster, type RedisCluster } from '@audio/local-services';
import { createRedisConnection, readHeartbeats, readRedisConfig, scanKeys } from '@audio/queues';
import {
  batchRowCounts,
  createPipelineTestEnv,
  startInProcessApps,
  waitForBatchDone,
  type InProcessApps,
  type PipelineTestEnv,
} from './support/index.js';

const FILES = 40;
let cluster: RedisCluster;
let t: PipelineTestEnv;
let apps: InProcessApps;
let work: string;

beforeAll(async () => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'cluster-e2e-'));
  cluster = await startRedisCluster(path.join(work, 'redis'));
  t = await createPipelineTestEnv('cluster', {
    REDIS_CLUSTER_NODES: cluster.nodeList,
  });
  apps = await startInProcessApps(t);
});
afterAll(async () => {
  await apps?.close();
  await t?.close();
  await cluster?.stop();
  fs.rmSync(work, { recursive: true, force: true });
});

describe('the pipeline on a Redis Cluster of three masters and three replicas', () => {
  it('runs batches end to end through the cluster client: every file once in the database and S3', async () => {
    const archives = await Promise.all(
      ['a', 'b'].map(async (name) => {
        const file = path.join(work, `${name}.tar`);
        return { file, good: await makeManyFileArchive(file, FILES) };
      }),
    );
    const batchIds: string[] = [];
    for (const a of archives) batchIds.push(await apps.ingest(a.file));

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
    } finally {
      redis.disconnect();
    }
  });
});
