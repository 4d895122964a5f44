import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DEMO_POLICY_FILE, DEMO_POLICY_V2_FILE, loadPolicy, reclassify } from '@audio/gpu';
import { PolicyRepository, ResearchQueries, ReviewerRepository } from '@audio/db';
import { evaluatePolicy } from '@audio/dashboard';
import { makeSampleArchive, SAMPLE_FLAGGED, SAMPLE_SENTENCES } from '@audio/fixtures';
import { createRedisConnection, readRedisConfig, type RedisClient } from '@audio/queues';
import {
  createPipelineTestEnv,
  startInProcessApps,
  waitForBatchDone,
  type InProcessApps,
  type PipelineTestEnv,
} from './support/index.js';

let t: PipelineTestEnv;
let apps: InProcessApps;
let redis: RedisClient;
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

  it('evaluates both versions against two (simulated) reviewers: the revision misses the personal threat', async () => {
    const v1 = await loadPolicy(DEMO_POLICY_FILE);
    const v2 = await loadPolicy(DEMO_POLICY_V2_FILE);
    const policies = new PolicyRepository(t.db);
    // The demo is 8 files: review every flagged file twice and every unflagged one as the control.
    await policies.setSampling(v1.id, v1.version, { doubleReviewShare: 1, controlShare: 1 });
    await policies.setSampling(v2.id, v2.version, { doubleReviewShare: 1, controlShare: 1 });
    const repo = new ReviewerRepository(t.db);
    const ann = await repo.createUser({ username: 'ann', passwordHash: 'not-a-login', role: 'reviewer' });
    const bob = await repo.createUser({ username: 'bob', passwordHash: 'not-a-login', role: 'reviewer' });
    // Ann answers what the sentence is; Bob reads the quarrel ("I am going to kill you…") as no violation.
    const answer = (reviewer: string, text: string) => {
      const threat = (SAMPLE_FLAGGED as readonly string[]).includes(text);
      const yes = threat && !(reviewer === bob.id && text === SAMPLE_SENTENCES[2]);
      return yes ? { violatesPolicy: 'yes', category: 'threat' } : { violatesPolicy: 'no' };
    };
    const reviewed: Record<string, number> = {};
    for (const reviewer of [ann.id, bob.id]) {
      for (let item = await repo.claimNext(reviewer); item; item = await repo.claimNext(reviewer)) {
        await repo.submitLabel({
          audioFileId: item.audioFileId,
          reviewerId: reviewer,
          answers: answer(reviewer, item.transcript!),
        });
        reviewed[reviewer] = (reviewed[reviewer] ?? 0) + 1;
      }
    }
    expect(reviewed).toEqual({ [ann.id]: 8, [bob.id]: 2 });

    const research = new ResearchQueries(t.db);
    const evaluate = async (p: { id: string; version: string }) =>
      evaluatePolicy(await research.reviewedVerdicts(p), await research.versionCounts(p), 1, [
        'threat',
        'violence',
      ]);
    const e1 = await evaluate(v1);
    const e2 = await evaluate(v2);
    process.stdout.write(`demo evaluation ${JSON.stringify({ [v1.version]: e1, [v2.version]: e2 })}\n`);
    expect(e1).toMatchObject({
      classified: 8,
      flagged: 2,
      flaggedReviewed: 2,
      controlReviewed: 6,
      doubleReviewed: 2,
    });
    expect(e1.precision).toMatchObject({ successes: 2, n: 2, estimate: 1, high: 1 });
    expect(e1.missRate).toMatchObject({ successes: 0, n: 6, estimate: 0, low: 0 });
    expect(e1.recall!.estimate).toBe(1);
    expect(e1.agreement.violatesPolicy).toMatchObject({ n: 2, observed: 0.5, kappa: 0 });
    expect(e2).toMatchObject({ classified: 8, flagged: 1, flaggedReviewed: 1, controlReviewed: 7 });
    expect(e2.missRate).toMatchObject({ successes: 1, n: 7 });
    expect(e2.recall!.estimate).toBeCloseTo(0.5, 10);
  });
});
