import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Redis } from 'ioredis';
import { DEMO_POLICY_FILE, DEMO_POLICY_V2_FILE, loadPolicy, reclassify } from '@audio/gpu';
import { PolicyRepository } from '@audio/db';
import { makeSampleArchive, SAMPLE_FLAGGED } from '@audio/fixtures';
import { createRedisConnection, readRedisConfig } from '@audio/queues';
import {
  createPipelineTestEnv,
  startInProcessApps,
  waitForBatchDone,
  type InProcessApps,
  type PipelineTestEnv,
} from './support/index.js';

let t: PipelineTestEnv;
let apps: InProcessApps;
let redis: Redis;
let work: string;
let batchId: string;

beforeAll(async () => {
  t = await createPipelineTestEnv('research');
  apps = await startInProcessApps(t);
  redis = createRedisConnection(readRedisConfig(t.env), 'producer');
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'research-e2e-'));
  const sample = await makeSampleArchive(path.join(work, 'sample.tar'));
  batchId = await apps.ingest(sample.path);
  await waitForBatchDone(t.db, batchId);
});
afterAll(async () => {
  await apps?.close();
  redis?.disconnect();
  await t?.close();
  if (work) fs.rmSync(work, { recursive: true, force: true });
});

describe('policies as data and re-classification on the demo data', () => {
  it('stores the configured policy file as the active version, and every classification names it', async () => {
    const v1 = await loadPolicy(DEMO_POLICY_FILE);
    const active = await new PolicyRepository(t.db).active();
    expect(active).toMatchObject({ id: v1.id, version: v1.version, sha256: v1.sha256, text: v1.text });
    const versions = await t.db.prisma.classification.groupBy({ by: ['policyVersion'], _count: true });
    expect(versions).toEqual([{ policyVersion: v1.version, _count: 8 }]);
  });

  it('classifies the stored transcripts under a revised version on the GPU app, idempotently', async () => {
    const v2 = await loadPolicy(DEMO_POLICY_V2_FILE);
    const seen: number[] = [];
    const summary = await reclassify(
      { db: t.db, redis, prefix: t.prefix },
      { policy: DEMO_POLICY_V2_FILE, batchId, pollMs: 200, onProgress: (p) => seen.push(p.classified) },
    );
    expect(summary).toMatchObject({
      policyId: v2.id,
      policyVersion: v2.version,
      queued: 8,
      total: 8,
      classified: 8,
      flagged: 1, // the revision drops the personal threat, keeps the planned attack
      failedJobs: [],
    });
    expect(seen.at(-1)).toBe(8);
    const rows = await t.db.prisma.classification.findMany({
      where: { policyVersion: v2.version },
      include: { audioFile: { include: { transcript: true } } },
    });
    expect(rows.filter((r) => r.flagged).map((r) => r.audioFile.transcript!.text)).toEqual([
      SAMPLE_FLAGGED[1],
    ]);
    // Stored, not activated: new batches still use v1.
    expect((await new PolicyRepository(t.db).active())?.version).not.toBe(v2.version);

    // A second run finds nothing to do; by version name instead of file.
    const again = await reclassify(
      { db: t.db, redis, prefix: t.prefix },
      { policy: v2.version, pollMs: 200 },
    );
    expect(again).toMatchObject({ queued: 0, jobs: 0, classified: 8, flagged: 1 });
    expect(await t.db.prisma.classification.count()).toBe(16);
  });
});
