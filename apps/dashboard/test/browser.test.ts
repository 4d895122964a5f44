import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Browser, Page } from 'playwright-core';
import { BatchRepository, createDb, FailureRepository, ReviewerRepository } from '@audio/db';
import { createTestDatabase, type TestDatabase } from '@audio/db/testing';
import { InProcessPipeline } from '@audio/demo';
import { makeSampleArchive } from '@audio/fixtures';
import { createLogger } from '@audio/logger';
import { startDashboard, UserAccounts, type RunningDashboard } from '../src/index.js';
import { ARTIFACTS, launchChromium, openWindow } from './support/browser.js';

const ADMIN = { username: 'admin', password: 'browser-test-passphrase' };
const REVIEWER = { username: 'ra1', password: 'reviewer-test-passphrase' };

// The real pipeline in this process (fixture sidecar) finishes the demo batch; Debian's Chromium,
// driven by playwright-core, then uses the dashboard as an operator and as a research assistant.
describe('the dashboard in a browser', () => {
  const suffix = crypto.randomBytes(3).toString('hex');
  const logger = createLogger({ name: 'browser-test', level: process.env.LOG_LEVEL ?? 'silent' });
  let work: string;
  let database: TestDatabase;
  let env: NodeJS.ProcessEnv;
  let pipeline: InProcessPipeline | undefined;
  let dashboard: RunningDashboard | undefined;
  let browser: Browser | undefined;
  let page: Page;
  let batchId: string;

  beforeAll(async () => {
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'dashboard-browser-'));
    database = await createTestDatabase();
    env = {
      ...process.env,
      DATABASE_URL: database.databaseUrl,
      QUEUE_PREFIX: `{dash-e2e-${suffix}}`,
      HOST_ID: `dash-e2e-${suffix}`,
      SCRATCH_ROOT: path.join(work, 'scratch'),
      SIDECAR_BACKEND: 'fixture',
      DASHBOARD_ADMIN_USER: ADMIN.username,
      DASHBOARD_ADMIN_PASSWORD: ADMIN.password,
      DASHBOARD_HOST: '127.0.0.1',
    };
    fs.mkdirSync(env.SCRATCH_ROOT!, { recursive: true });
    const archive = path.join(work, 'sample-calls.tar');
    await makeSampleArchive(archive);
    pipeline = await InProcessPipeline.start(env, logger);
    batchId = await pipeline.ingest(archive);
    await pipeline.waitForBatches([batchId], 240_000);

    dashboard = await startDashboard({ env, logger, port: 0 });
    const db = createDb({ databaseUrl: database.databaseUrl, poolSize: 1, connectionTimeoutMs: 60_000 });
    try {
      await new UserAccounts(new ReviewerRepository(db)).create(
        REVIEWER.username,
        REVIEWER.password,
        'reviewer',
      );
    } finally {
      await db.close();
    }
    browser = await launchChromium();
    ({ page } = await openWindow(browser));
  }, 300_000);

  afterAll(async () => {
    await browser?.close();
    await dashboard?.close();
    await pipeline?.close();
    await database?.drop();
    if (work) fs.rmSync(work, { recursive: true, force: true });
  });

  const shot = (name: string) =>
    page.screenshot({ path: path.join(ARTIFACTS, `${name}.png`), fullPage: true });

  async function logIn(user: { username: string; password: string }, next: string) {
    await page.goto(`${dashboard!.url}${next}`);
    await page.waitForURL(/\/login/);
    await page.fill('input[name=username]', user.username);
    await page.fill('input[name=password]', user.password);
    await page.click('button[type=submit]');
    await page.waitForURL((url) => url.pathname.startsWith(next)); // /review goes on to /review/{item}
  }

  it('logs in and opens the finished demo batch with its files and failures', async () => {
    await page.goto(`${dashboard!.url}/batches`);
    await page.waitForURL(/\/login\?next=%2Fbatches/);
    await shot('01-login');
    await logIn(ADMIN, '/batches');
    const row = page.locator('tr', { hasText: batchId });
    await expect(row.locator('.badge').first().textContent()).resolves.toBe('complete');
    await shot('02-batches');

    await page.click(`a[href="/batches/${batchId}"]`);
    await page.waitForURL(`**/batches/${batchId}`);
    const text = await page.locator('main').innerText();
    expect(text).toContain('calls/2025-06-22/call-001.mp3');
    expect(text).toContain('not_mp3'); // README.txt, refused by unpack
    expect(text).toContain('decode_error'); // the corrupt MP3, failed in convert
    expect(await page.locator('tbody tr', { hasText: 'flagged' }).count()).toBe(2);
    await shot('03-batch');

    await page.goto(`${dashboard!.url}/status`);
    expect(await page.locator('h1').innerText()).toMatch(/Health/);
    await shot('04-health');
  });

  it('opens Bull Board with the host-affine queues of the pipeline host', async () => {
    await page.goto(`${dashboard!.url}/board`);
    const queue = `transcribe-${env.HOST_ID}`;
    await page.getByText(queue).first().waitFor({ timeout: 120_000 });
    await page.getByText('Loading').first().waitFor({ state: 'hidden', timeout: 120_000 });
    await shot('05-board');
    // The corrupt MP3's transcribe job failed with the reason its convert child gave.
    await page.goto(`${dashboard!.url}/board/queue/${encodeURIComponent(queue)}?status=failed`);
    await page.getByText('decode_error').first().waitFor({ timeout: 120_000 });
    await shot('06-board-failed');
    await page.goto(
      `${dashboard!.url}/board/queue/${encodeURIComponent(`finalize-${env.HOST_ID}`)}?status=completed`,
    );
    await page.getByText(`${batchId}-finalize`).first().waitFor({ timeout: 120_000 });
    await shot('07-board-finalize');
  });

  it("goes from a batch's file to its page and on to its transcribe job in Bull Board", async () => {
    await page.goto(`${dashboard!.url}/batches/${batchId}`);
    await page.click('table.files a:has-text("call-001.mp3")');
    await page.waitForURL(/\/files\/[0-9a-f-]{36}$/);
    expect(await page.locator('h1').innerText()).toBe('calls/2025-06-22/call-001.mp3');
    const transcribe = page.locator('table.jobs tr', { hasText: 'transcribe' }).locator('a.job');
    const href = await transcribe.getAttribute('href');
    expect(href).toMatch(new RegExp(`^/board/queue/transcribe-${env.HOST_ID}/${batchId}-\\d+$`));
    expect(await page.locator('table.jobs tr', { hasText: 'convert' }).locator('a.job').count()).toBe(1);
    expect(await page.locator('a:has-text("its finalize job in Bull Board")').getAttribute('href')).toBe(
      `/board/queue/finalize-${env.HOST_ID}/${batchId}-finalize`,
    );
    await shot('12-file');
    await transcribe.click();
    await page.waitForURL(`**${href!}`);
    await page.getByText(href!.split('/').pop()!).first().waitFor({ timeout: 120_000 });
    await shot('13-file-job');
  });

  it('retries the failed files of the finished batch from S3, then replays it; the first completion stays (issue 16, bugs 1 and 6)', async () => {
    const db = createDb({ databaseUrl: database.databaseUrl, poolSize: 1, connectionTimeoutMs: 60_000 });
    const batches = new BatchRepository(db);
    const runsOf = () => batches.runs(batchId);
    const until = async (done: () => Promise<boolean>) => {
      const deadline = Date.now() + 240_000;
      while (!(await done())) {
        if (Date.now() > deadline)
          throw new Error(`batch ${batchId}: runs ${JSON.stringify(await runsOf())}`);
        await new Promise((r) => setTimeout(r, 250));
      }
    };
    try {
      const first = (await batches.get(batchId))!;
      // Bull Board offers no Retry for per-file jobs (a trap after finalize: scratch_missing).
      const boardQueues = (await page.evaluate(`fetch('/board/api/queues').then((r) => r.json())`)) as {
        queues: { name: string; allowRetries: boolean }[];
      };
      const transcribe = boardQueues.queues.find((q) => q.name === `transcribe-${env.HOST_ID}`);
      expect(transcribe?.allowRetries).toBe(false);

      await page.goto(`${dashboard!.url}/batches/${batchId}`);
      await page.click('a.button:has-text("Retry failed files (1)")');
      await page.waitForURL(`**/batches/${batchId}/retry-failed`);
      expect(await page.locator('main ul').innerText()).toContain('calls/2025-06-22/call-broken.mp3');
      await shot('10-retry-confirm');
      await page.click('form.confirm button[type=submit]');
      await page.waitForURL(`**/batches/${batchId}?queued=retry-failed`);
      await until(async () =>
        (await runsOf()).some((r) => r.scope === 'failed-files' && r.status === 'complete'),
      );
      const retry = (await runsOf()).find((r) => r.scope === 'failed-files')!;
      expect(retry.fileCount).toBe(1); // just the failed file, from the archive in S3
      // It failed again for its own reason (the bytes are corrupt), not for a missing scratch file.
      const failures = await new FailureRepository(db).listByBatch(batchId);
      expect(failures.map((f) => f.reasonCode)).not.toContain('scratch_missing');
      expect(failures.find((f) => f.entry.endsWith('call-broken.mp3'))?.reasonCode).toBe('decode_error');

      await page.goto(`${dashboard!.url}/batches/${batchId}`);
      await page.click('a.button:has-text("Replay batch")');
      await page.click('form.confirm button[type=submit]');
      await page.waitForURL(`**/batches/${batchId}?queued=replay`);
      await until(async () => (await runsOf()).filter((r) => r.status === 'complete').length === 3);
      const after = (await batches.get(batchId))!;
      expect(after.status).toBe('complete');
      expect(after.completedAt).toEqual(first.completedAt);
      expect(after.fileCount).toBe(first.fileCount);
      await page.goto(`${dashboard!.url}/batches/${batchId}`);
      expect(await page.locator('table.runs tbody tr').count()).toBe(3);
      await shot('11-batch-runs');
    } finally {
      await db.close();
    }
  });

  it('lets a research assistant review a flagged item', async () => {
    await page.goto(`${dashboard!.url}/logout`);
    await page.click('main button[type=submit]');
    await page.waitForURL(/\/login/);
    await logIn(REVIEWER, '/review');
    // The pipeline's stored segments, as timed lines (the fixture sidecar gives one per file).
    const transcript = await page.locator('button.segment').first().innerText();
    expect(transcript).toMatch(/^0:00–0:0\d\s+\S.{10,}/);
    expect(await page.locator('audio').getAttribute('src')).toMatch(/X-Amz-Signature=/);
    await shot('08-review');
    await page.check('input[name=violatesPolicy][value=yes]');
    await page.selectOption('select[name=category]', 'threat');
    await page.fill('textarea[name=notes]', 'reviewed in the browser test');
    await page.click('#label-form button[type=submit]');
    await page.waitForURL(/saved=/);
    expect(await page.locator('main').innerText()).toContain('Saved');
    await shot('09-review-next');
  });
});
