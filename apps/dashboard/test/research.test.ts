import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { AudioFileRepository, BatchRepository, PolicyRepository, reviewDraw } from '@audio/db';
import {
  createTestDashboard,
  createUser,
  loginAs,
  reviewers,
  type TestDashboard,
} from './support/test-dashboard.js';

const BATCH = '20250622-143052-e7f8a9';
const V1 = { id: 'vt', version: 'v1' };
const V2 = { id: 'vt', version: 'v2' };

let dashboard: TestDashboard;
let agent: Awaited<ReturnType<typeof loginAs>>;
const ids: string[] = [];

/**
 * 12 files: v1 flags 0–3, v2 flags 2–5. Reviewer ann labels 0–5 and 10 (a control file under
 * v1 with its draw below the share of 1.0), bob labels 0–1 again (double review).
 */
beforeAll(async () => {
  dashboard = await createTestDashboard();
  await new BatchRepository(dashboard.db).create({
    batchId: BATCH,
    archiveKey: `archives/${BATCH}.tar`,
    sha256: 'c'.repeat(64),
    sizeBytes: 1,
    source: 'test',
    transferredAt: new Date('2025-06-22T14:30:52Z'),
  });
  const files = new AudioFileRepository(dashboard.db);
  for (let n = 0; n < 12; n++) {
    const { audioFileId } = await files.recordFileResult({
      batchId: BATCH,
      originalFilename: `f${String(n).padStart(2, '0')}.mp3`,
      sizeBytes: 1,
      sha256: 'c'.repeat(64),
      transcript: {
        text: n === 4 ? 'a "quoted", comma\nnew line' : `words of ${n}`,
        language: 'en',
        segments: [],
        model: 'fixture',
      },
      classification: { ...policy(V1), flagged: n < 4, score: n < 4 ? 0.9 : 0.1, model: 'fixture' },
    });
    ids.push(audioFileId);
  }
  await dashboard.db.prisma.classification.createMany({
    data: ids.map((audioFileId, n) => ({
      audioFileId,
      ...policy(V2),
      flagged: n >= 2 && n < 6,
      score: 0.5,
      model: 'fixture',
    })),
  });
  const policies = new PolicyRepository(dashboard.db);
  for (const p of [V1, V2]) {
    await policies.add({
      ...p,
      sha256: (p === V1 ? '1' : '2').repeat(64),
      text: '{}',
      title: 'Violent threats',
    });
  }
  await policies.activate(V1.id, V1.version);
  await policies.setSampling(V1.id, V1.version, { controlShare: 1 });
  await createUser(dashboard, 'ann', 'reviewer');
  await createUser(dashboard, 'bob', 'reviewer');
  await createUser(dashboard, 'rita', 'viewer');
  const repo = reviewers(dashboard);
  const ann = (await repo.findByUsername('ann'))!.id;
  const bob = (await repo.findByUsername('bob'))!.id;
  // A label needs the reviewer's running lease: seed one, as claiming would, then label.
  const label = async (reviewerId: string, n: number, violatesPolicy: string, category?: string) => {
    await dashboard.db.prisma.raAssignment.create({
      data: { audioFileId: ids[n]!, reviewerId, leaseExpiresAt: new Date(Date.now() + 3_600_000) },
    });
    await repo.submitLabel({
      audioFileId: ids[n]!,
      reviewerId,
      answers: { violatesPolicy, ...(category ? { category } : {}) },
    });
  };
  // v1's flags: 0, 1, 2 confirmed, 3 not; control: 4 and 5 say yes (misses), 10 no.
  for (const n of [0, 1, 2]) await label(ann, n, 'yes', 'threat');
  await label(ann, 3, 'no');
  await label(ann, 4, 'yes', 'violence');
  await label(ann, 5, 'yes', 'threat');
  await label(ann, 10, 'no');
  await label(bob, 0, 'yes', 'threat');
  await label(bob, 1, 'no');
  agent = await loginAs(dashboard.app, 'rita');
});
afterAll(() => dashboard?.close());

function policy(p: { id: string; version: string }) {
  return { policyId: p.id, policyVersion: p.version };
}

describe('research pages', () => {
  it('lists the versions with their flag rates', async () => {
    const page = await agent.get('/research').expect(200);
    expect(page.text).toContain('vt@v1');
    expect(page.text).toContain('4 (33.3%)');
    expect(page.text).toContain('href="/research/compare?a=vt%40v1&b=vt%40v2"');
  });

  it('compares two versions: flag rates and the changed verdicts with their transcripts', async () => {
    const page = await agent.get('/research/compare?a=vt@v1&b=v2').expect(200);
    expect(page.text).toContain('33.3% (4 of 12)');
    expect(page.text).toContain('4: 2 no longer flagged, 2 newly flagged');
    for (const n of ['f00', 'f01', 'f04', 'f05']) expect(page.text).toContain(`${n}.mp3`);
    expect(page.text).not.toContain('f02.mp3');
    expect(page.text).toContain(`href="/files/${ids[0]}"`); // each changed file links to its file page
    expect(page.text).toContain('a &quot;quoted&quot;, comma');
    await agent.get('/research/compare?a=vt@v1&b=v9').expect(404);
  });

  it('evaluates a version: precision, miss rate and recall with Wilson intervals, kappa', async () => {
    const page = await agent.get('/research/evaluation?policy=vt@v1').expect(200);
    const metric = (name: string) =>
      new RegExp(`data-metric="${name}">([\\s\\S]*?)</td>`)
        .exec(page.text)![1]!
        .replace(/<[^>]+>/g, '')
        .replace(/\s+/g, ' ')
        .trim();
    // 3 of 4 flags confirmed: Wilson 95% 30.1%–95.4%.
    expect(metric('precision')).toContain('75.0% (3/4; 95% Wilson 30.1%–95.4%)');
    // The control sample (share 1.0: every unflagged reviewed file): 2 of 3 say yes.
    expect(metric('miss-rate')).toContain('66.7% (2/3; 95% Wilson 20.8%–93.9%)');
    // Recall = 0.75·4 / (0.75·4 + 0.667·8) = 3 / 8.33 = 36.0%.
    expect(metric('recall')).toContain('36.0%');
    // Two pairs (yes/yes, yes/no): po = 0.5, pe = 1·0.5 = 0.5 → κ = 0.
    expect(metric('kappa')).toContain('κ = 0.00');
    expect(metric('kappa')).toContain('2 pairs');
    expect(reviewDraw(ids[10]!)).toBeLessThan(1);
  });

  it('exports every label as CSV and JSON lines, streamed, optionally for one version', async () => {
    const csv = await agent.get('/research/labels.csv?policy=vt@v2').expect(200);
    expect(csv.headers['content-type']).toBe('text/csv; charset=utf-8');
    expect(csv.headers['content-disposition']).toBe('attachment; filename="labels-vt-v2.csv"');
    const lines = csv.text.trimEnd().split('\n');
    expect(lines[0]).toBe(
      'audio_file_id,batch_id,original_filename,policy_id,policy_version,flagged,score,model,classified_at,reviewer,answers,notes,labelled_at,updated_at,transcript',
    );
    expect(csv.text).toContain('"a ""quoted"", comma\nnew line"');
    expect(csv.text).toContain(`${ids[4]},${BATCH},f04.mp3,vt,v2,true,0.5,fixture,`);
    expect(csv.text).toContain(',ann,"{""category"":""violence"",""violatesPolicy"":""yes""}",');

    const jsonl = await agent.get('/research/labels.jsonl').expect(200);
    expect(jsonl.headers['content-type']).toBe('application/x-ndjson; charset=utf-8');
    const rows = jsonl.text
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    // 9 labels × 2 versions.
    expect(rows).toHaveLength(18);
    expect(rows[0]).toMatchObject({
      reviewer: 'ann',
      original_filename: 'f00.mp3',
      policy_version: 'v1',
      flagged: true,
    });
    expect(new Set(rows.map((r) => r.policy_version))).toEqual(new Set(['v1', 'v2']));
  });

  it('is for staff: a reviewer may not see it', async () => {
    const reviewer = await loginAs(dashboard.app, 'ann');
    await reviewer.get('/research/evaluation?policy=vt@v1').expect(403);
    await reviewer.get('/research/labels.csv').expect(403);
  });
});
