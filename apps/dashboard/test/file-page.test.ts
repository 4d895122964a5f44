import crypto from 'node:crypto';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { AudioFileRepository, BatchRepository, FailureRepository, PolicyRepository } from '@audio/db';
import {
  createTestDashboard,
  createUser,
  loginAs,
  reviewers,
  type TestDashboard,
} from './support/test-dashboard.js';

const BATCH = '20250622-143052-f11e5a';
const V1 = { id: 'vt', version: 'v1' };

let dashboard: TestDashboard;
let viewer: Awaited<ReturnType<typeof loginAs>>;
let flaggedId: string;
let cleanId: string;
let earlyId: string;

/**
 * Three files of a batch: `a <b>.mp3` (flagged, with an earlier failure, labelled by ann and bob: the
 * active version sends every flagged file to two reviewers), `clean.mp3` (not flagged, in the control
 * sample, labelled by ann) and `early.mp3`, labelled by bob before the version was activated. Text
 * a reviewer or an archive chose carries markup, to see it escaped.
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
  const policies = new PolicyRepository(dashboard.db);
  await policies.add({ ...V1, sha256: '1'.repeat(64), text: '{}', title: 'Violent threats' });
  const files = new AudioFileRepository(dashboard.db);
  const record = async (name: string, flagged: boolean, text: string) =>
    (
      await files.recordFileResult({
        batchId: BATCH,
        originalFilename: name,
        durationSeconds: 7,
        sizeBytes: 2048,
        sha256: 'd'.repeat(64),
        transcript: { text, language: 'en', segments: [], model: 'fixture' },
        classification: {
          policyId: V1.id,
          policyVersion: V1.version,
          flagged,
          score: flagged ? 0.91 : 0.07,
          model: 'fixture',
        },
      })
    ).audioFileId;
  flaggedId = await record('dir/a <b>.mp3', true, 'I will <script>alert(1)</script> you');
  cleanId = await record('clean.mp3', false, 'lovely weather');
  earlyId = await record('early.mp3', true, 'labelled before any version was active');
  await new FailureRepository(dashboard.db).record({
    batchId: BATCH,
    entry: 'dir/a <b>.mp3',
    stage: 'transcribe',
    reasonCode: 'sidecar_timeout',
    message: 'no answer in 300 s',
    attempts: 1,
  });
  for (const [name, role] of [
    ['ann', 'reviewer'],
    ['bob', 'reviewer'],
    ['rita', 'viewer'],
    ['otto', 'ops'],
  ] as const)
    await createUser(dashboard, name, role);
  const repo = reviewers(dashboard);
  // A label needs the reviewer's running lease: seed one, as claiming would, then label.
  const label = async (
    username: string,
    audioFileId: string,
    answers: Record<string, string>,
    notes?: string,
  ) => {
    const reviewerId = (await repo.findByUsername(username))!.id;
    await dashboard.db.prisma.raAssignment.create({
      data: { audioFileId, reviewerId, leaseExpiresAt: new Date(Date.now() + 3_600_000) },
    });
    await repo.submitLabel({ audioFileId, reviewerId, answers, notes: notes ?? null });
  };
  await label('bob', earlyId, { violatesPolicy: 'yes', category: 'violence' });
  // From now on the version is active, and sends every file to review (flagged ones twice).
  await policies.activate(V1.id, V1.version);
  await policies.setSampling(V1.id, V1.version, { doubleReviewShare: 1, controlShare: 1 });
  await label('ann', flaggedId, { violatesPolicy: 'yes', category: 'threat' }, '<b>bold</b> & "quoted"');
  await label('bob', flaggedId, { violatesPolicy: 'no' });
  await label('ann', cleanId, { violatesPolicy: 'no' });
  viewer = await loginAs(dashboard.app, 'rita');
});
afterAll(() => dashboard?.close());

/** The page's text without tags, one space between words. */
const textOf = (page: string) =>
  page
    .replace(/<style[\s\S]*?<\/style>/g, '')
    .replace(/<[^>]+>/g, ' ')
    .replace(/\s+/g, ' ');

/** The cells of the labels table, row by row, as text. */
function labelRows(page: string): string[][] {
  const table = /<table class="labels">([\s\S]*?)<\/table>/.exec(page)?.[1] ?? '';
  return [...table.matchAll(/<tr data-label="[^"]+">([\s\S]*?)<\/tr>/g)].map((row) =>
    [...row[1]!.matchAll(/<td[^>]*>([\s\S]*?)<\/td>/g)].map((cell) => textOf(cell[1]!).trim()),
  );
}

describe('file page', () => {
  it('shows the file, its results, its earlier failure and every label, escaped', async () => {
    const page = await viewer.get(`/files/${flaggedId}`).expect(200);
    const text = textOf(page.text);
    expect(text).toContain(`Batches / ${BATCH} / file`);
    expect(text).toContain('vt@v1 active Violent threats flagged 0.91 double review: two reviewers');
    expect(text).toContain('transcribe sidecar_timeout no answer in 300 s');
    expect(text).toContain('no Opus copy has been stored for it yet');
    expect(text).toContain('2 labels, review done');
    expect(labelRows(page.text)).toEqual([
      [
        '1',
        'ann (reviewer)',
        'yes',
        'threat',
        '&lt;b&gt;bold&lt;/b&gt; &amp; &quot;quoted&quot;',
        expect.stringMatching(/ UTC$/),
        'vt@v1',
        'double review (1 of 2)',
      ],
      [
        '2',
        'bob (reviewer)',
        'no',
        '–',
        '',
        expect.stringMatching(/ UTC$/),
        'vt@v1',
        'double review (2 of 2)',
      ],
    ]);
    // What a reviewer and an archive wrote is text, never markup.
    expect(page.text).toContain('I will &lt;script&gt;alert(1)&lt;/script&gt; you');
    expect(page.text).not.toContain('<script>alert(1)');
    expect(page.text).not.toContain('<b>bold</b>');
    expect(page.text).toContain('a &lt;b&gt;.mp3');
    expect(page.text).toContain(`href="/batches/${BATCH}"`);
  });

  it('says which label was a control sample', async () => {
    const page = await viewer.get(`/files/${cleanId}`).expect(200);
    expect(textOf(page.text)).toContain('not flagged 0.07 control sample (not flagged)');
    expect(labelRows(page.text)).toEqual([
      ['1', 'ann (reviewer)', 'no', '–', '', expect.stringMatching(/ UTC$/), 'vt@v1', 'control sample'],
    ]);
  });

  it('names no version for a label saved while none was active', async () => {
    const page = await viewer.get(`/files/${earlyId}`).expect(200);
    expect(labelRows(page.text)).toEqual([
      [
        '1',
        'bob (reviewer)',
        'yes',
        'violence',
        '',
        expect.stringMatching(/ UTC$/),
        'none active',
        'flagged',
      ],
    ]);
  });

  it('is linked from each recorded file of its batch page', async () => {
    const batch = await viewer.get(`/batches/${BATCH}`).expect(200);
    expect(batch.text).toContain(`href="/files/${flaggedId}"`);
    expect(batch.text).toContain(`href="/files/${cleanId}"`);
  });

  it('answers a malformed id with 400 and an unknown one with 404, naming the id', async () => {
    const bad = await viewer.get('/files/not-a-file').expect(400);
    expect(textOf(bad.text)).toContain('“not-a-file” is not a file id');
    expect(bad.text).toContain('href="/batches"');
    const hostile = await viewer.get('/files/%3Cimg%20src%3Dx%3E').expect(400);
    expect(hostile.text).toContain('“&lt;img src=x&gt;” is not a file id');
    expect(hostile.text).not.toContain('<img src=x>');
    const unknown = crypto.randomUUID();
    const missing = await viewer.get(`/files/${unknown}`).expect(404);
    expect(textOf(missing.text)).toContain(`There is no audio file ${unknown}.`);
  });

  it('is for staff: reviewers may not see other reviewers’ labels; a visitor is sent to log in', async () => {
    const ann = await loginAs(dashboard.app, 'ann');
    const refused = await ann.get(`/files/${flaggedId}`).expect(403);
    expect(refused.text).toContain('The reviewer role may not open this page (operations:read)');
    expect(refused.text).not.toContain('bob');
    const ops = await loginAs(dashboard.app, 'otto');
    await ops.get(`/files/${flaggedId}`).expect(200);
    const visitor = await request(dashboard.app).get(`/files/${flaggedId}`).expect(302);
    expect(visitor.headers.location).toBe(`/login?next=${encodeURIComponent(`/files/${flaggedId}`)}`);
  });
});
