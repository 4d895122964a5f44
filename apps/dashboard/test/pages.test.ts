import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Redis } from 'ioredis';
import request from 'supertest';
import { HeartbeatPublisher } from '@audio/queues';
import { AudioFileRepository, BatchRepository, FailureRepository } from '@audio/db';
import type { BatchDetail, BatchSummary, HealthReport } from '../src/index.js';
import {
  createTestDashboard,
  createUser,
  csrfTokenOf,
  loginAs,
  reviewers,
  type TestDashboard,
} from './support/test-dashboard.js';

const BATCH = '20250622-143052-a1b2c3';
const FLAGGED_TEXT = 'I will find you & make you <pay>.';

/** A finished batch: one clean file, one flagged one with its Opus copy in S3, one that failed. */
async function seedBatch(dashboard: TestDashboard): Promise<{ flaggedId: string; opusKey: string }> {
  const batches = new BatchRepository(dashboard.db);
  const files = new AudioFileRepository(dashboard.db);
  await batches.create({
    batchId: BATCH,
    archiveKey: `archives/${BATCH}.tar`,
    sha256: 'b'.repeat(64),
    sizeBytes: 3 * 1024 * 1024,
    source: 'test:seed',
    transferredAt: new Date(),
  });
  await batches.markUnpacking(BATCH, 'pages-test-host');
  await batches.markUnpacked(BATCH, { fileCount: 3 });
  const result = (name: string, text: string, flagged: boolean, sha: string) =>
    files.recordFileResult({
      batchId: BATCH,
      originalFilename: name,
      durationSeconds: 4.2,
      sizeBytes: 50_000,
      sha256: sha.repeat(64),
      transcript: { text, language: 'en', segments: [], model: 'fixture' },
      classification: {
        policyId: 'cope-demo',
        policyVersion: '1',
        flagged,
        score: flagged ? 0.97 : 0.03,
        model: 'fixture',
      },
    });
  await result('calls/call-001.mp3', 'Hello, this is a friendly call.', false, 'c');
  const flagged = await result('calls/call-002.mp3', FLAGGED_TEXT, true, 'd');
  await new FailureRepository(dashboard.db).record({
    batchId: BATCH,
    entry: 'calls/call-003.mp3',
    stage: 'convert',
    reasonCode: 'decode_error',
    message: 'ffmpeg could not convert the file',
    attempts: 2,
  });
  const opusKey = `processed/2025-06-22/${flagged.audioFileId}.opus`;
  const opusFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'dashboard-pages-')), 'call-002.opus');
  fs.writeFileSync(opusFile, 'OggS-not-really-opus');
  await dashboard.store.uploadOpus(opusFile, opusKey);
  fs.rmSync(path.dirname(opusFile), { recursive: true, force: true });
  await files.setOpusKey(flagged.audioFileId, opusKey);
  await batches.markComplete(BATCH, { succeeded: 2, failed: 1 });
  return { flaggedId: flagged.audioFileId, opusKey };
}

describe('batch pages and the review UI', () => {
  let dashboard: TestDashboard;
  let flaggedId: string;

  beforeAll(async () => {
    dashboard = await createTestDashboard();
    ({ flaggedId } = await seedBatch(dashboard));
    await createUser(dashboard, 'viewer2', 'viewer');
    await createUser(dashboard, 'reviewer2', 'reviewer');
  });
  afterAll(() => dashboard?.close());

  it('lists batches with progress: files done of total and failures', async () => {
    const viewer = await loginAs(dashboard.app, 'viewer2');
    const api = await viewer.get('/api/batches').expect(200);
    const [summary] = (api.body as { batches: BatchSummary[] }).batches;
    expect(summary).toEqual(
      expect.objectContaining({
        batchId: BATCH,
        status: 'complete',
        fileCount: 3,
        filesDone: 2,
        filesFailed: 1,
      }),
    );
    const page = await viewer.get('/batches').expect(200);
    expect(page.text).toContain(`href="/batches/${BATCH}"`);
    expect(page.text).toContain('2/3');
    expect((await viewer.get('/batches?status=failed').expect(200)).text).toContain(
      'No batches with status failed',
    );
    await viewer.get('/batches?status=bogus').expect(400);
  });

  it("shows a batch's files with outcomes, reasons and timings", async () => {
    const viewer = await loginAs(dashboard.app, 'viewer2');
    const api = await viewer.get(`/api/batches/${BATCH}`).expect(200);
    const detail = api.body as BatchDetail;
    expect(detail.entries.map((e) => [e.entry, e.outcome])).toEqual([
      ['calls/call-001.mp3', 'ok'],
      ['calls/call-002.mp3', 'flagged'],
      ['calls/call-003.mp3', 'failed'],
    ]);
    expect(detail.entries[2]!.failures[0]).toEqual(
      expect.objectContaining({ stage: 'convert', reasonCode: 'decode_error' }),
    );
    const page = await viewer.get(`/batches/${BATCH}`).expect(200);
    expect(page.text).toContain('decode_error');
    expect(page.text).toContain('ffmpeg could not convert the file');
    expect(page.text).toContain('Transcribing and classifying (unpacked → complete)');
    // Transcripts are escaped, never markup.
    expect(page.text).toContain('I will find you &amp; make you &lt;pay&gt;.');
    expect(page.text).not.toContain('<pay>');
    await viewer.get('/batches/20990101-000000-ffffff').expect(404);
  });

  it('leases the flagged item to a reviewer with its audio, and saves the codebook answers', async () => {
    const reviewer = await loginAs(dashboard.app, 'reviewer2');
    const page = await reviewer.get('/review').expect(200);
    expect(page.text).toContain('calls/call-002.mp3');
    expect(page.text).toContain('I will find you &amp; make you &lt;pay&gt;.');
    const audioSrc = /<audio[^>]* src="([^"]+)"/.exec(page.text)?.[1]?.replaceAll('&amp;', '&');
    expect(audioSrc).toMatch(/^http.*X-Amz-Signature=/);
    const audio = await fetch(audioSrc!);
    expect(audio.status).toBe(200);
    expect(await audio.text()).toBe('OggS-not-really-opus');

    const form = { violatesPolicy: 'yes', category: 'threat', notes: 'clear threat' };
    await reviewer.post(`/review/${flaggedId}`).type('form').send(form).expect(403); // no CSRF token
    await reviewer
      .post(`/review/${flaggedId}`)
      .type('form')
      .send({ ...form, category: 'nonsense', _csrf: csrfTokenOf(page.text) })
      .expect(400);
    const saved = await reviewer
      .post(`/review/${flaggedId}`)
      .type('form')
      .send({ ...form, _csrf: csrfTokenOf(page.text) });
    expect(saved.status).toBe(303);
    expect(saved.headers.location).toBe('/review?saved=1');
    const labels = await reviewers(dashboard).listLabels(flaggedId);
    expect(labels).toHaveLength(1);
    expect(labels[0]!.answers).toEqual({ violatesPolicy: 'yes', category: 'threat' });
    expect(labels[0]!.notes).toBe('clear threat');
    expect((await reviewer.get('/review').expect(200)).text).toContain('Nothing is waiting for you');
  });

  it('refuses review for roles without it', async () => {
    const viewer = await loginAs(dashboard.app, 'viewer2');
    await viewer.get('/review').expect(403);
    const anonymous = request(dashboard.app);
    await anonymous.post(`/review/${flaggedId}`).type('form').send({}).expect(302);
  });

  it('shows the health page to operators, with the models and release each host reports', async () => {
    const connection = new Redis(dashboard.redisUrl);
    const heartbeat = new HeartbeatPublisher(
      connection,
      dashboard.prefix,
      { hostId: 'gpu-7', app: 'gpu', version: '0.1.0', queues: ['transcribe-gpu-7'], release: '2026.11.2' },
      async () => ({
        activeJobs: 0,
        freeScratchBytes: 50 * 1024 ** 3,
        models: { whisperx: 'large-v3-2025-01', 'cope-a-lora': '2025-06-01' },
      }),
    );
    try {
      await heartbeat.beat();
      const viewer = await loginAs(dashboard.app, 'viewer2');
      const page = await viewer.get('/status').expect(200);
      expect(page.text).toContain('Health');
      expect(page.text).toContain('Noon target');
      const row = page.text.slice(page.text.indexOf('>gpu-7<'));
      expect(row).toContain('whisperx large-v3-2025-01');
      expect(row).toContain('cope-a-lora 2025-06-01');
      expect(row).toContain('gpu 0.1.0 (release 2026.11.2)');
      const health = await request(dashboard.app).get('/health');
      const host = (health.body as HealthReport).hosts?.find((h) => h.hostId === 'gpu-7');
      expect(host?.models).toEqual({ whisperx: 'large-v3-2025-01', 'cope-a-lora': '2025-06-01' });
      expect(host?.workers[0]).toMatchObject({ release: '2026.11.2' });
    } finally {
      await heartbeat.stop();
      connection.disconnect();
    }
  });
});
