import crypto from 'node:crypto';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Browser, Page } from 'playwright-core';
import {
  AudioFileRepository,
  BatchRepository,
  createDb,
  FailureRepository,
  ReviewerRepository,
  type Db,
} from '@audio/db';
import { createTestDatabase, type TestDatabase } from '@audio/db/testing';
import { createLogger } from '@audio/logger';
import { startDashboard, UserAccounts, type RunningDashboard } from '../src/index.js';
import { ARTIFACTS, launchChromium, logIn, openWindow } from './support/browser.js';

const ADMIN = { username: 'admin', password: 'operator-test-passphrase' };
const VIEWER = { username: 'viewer1', password: 'viewer-test-passphrase' };
const HOUR = 3_600_000;

/** Batch ids of the seeded situations, each one a bug the operators met (issue 16). */
const REPLAYED = '20261128-050000-aaaaa1';
const FAILED = '20261128-051000-aaaaa2';
const HOSTILE = '20261128-052000-aaaaa3';
const BIG = '20261126-053000-aaaaa4';

async function seed(db: Db): Promise<void> {
  const batches = new BatchRepository(db);
  const files = new AudioFileRepository(db);
  const failures = new FailureRepository(db);
  const transferredAt = new Date(Date.now() - 2 * HOUR);
  const create = (batchId: string, source: string) =>
    batches.create({
      batchId,
      archiveKey: `archives/${batchId}.tar`,
      sha256: crypto.createHash('sha256').update(batchId).digest('hex'),
      sizeBytes: 1024,
      source,
      transferredAt,
    });
  const result = (batchId: string, name: string, flagged = false) =>
    files.recordFileResult({
      batchId,
      originalFilename: name,
      durationSeconds: 3,
      sizeBytes: 1000,
      sha256: crypto.createHash('sha256').update(name).digest('hex'),
      transcript: { text: `words of ${name}`, language: 'en', segments: [], model: 'fixture' },
      classification: {
        policyId: 'cope-demo',
        policyVersion: '1',
        flagged,
        score: flagged ? 0.9 : 0.1,
        model: 'fixture',
      },
    });

  // Bug 1: completed 1.1 s after its transfer, then replayed (an operator re-ran it): "Took" stays 1.1 s.
  await create(REPLAYED, 'sftp://ec2/incoming/replayed.tar');
  await batches.markUnpacking(REPLAYED, 'gpu-a');
  await batches.markUnpacked(REPLAYED, { fileCount: 1 });
  await result(REPLAYED, 'a.mp3');
  await batches.markComplete(REPLAYED, { succeeded: 1, failed: 0 });
  await db.prisma.batch.update({
    where: { batchId: REPLAYED },
    data: { completedAt: new Date(transferredAt.getTime() + 1100) },
  });
  await batches.markUnpacking(REPLAYED, 'gpu-b', { run: 1 });
  await batches.markUnpacked(REPLAYED, { fileCount: 1 });
  await batches.markComplete(REPLAYED, { succeeded: 1, failed: 0 });

  // Bug 3: failed 5 s after its transfer; its clock must not run on.
  await create(FAILED, 'inbox:truncated.tar');
  await batches.markUnpacking(FAILED, 'gpu-a');
  await batches.markFailed(FAILED, { code: 'truncated_archive', message: 'the archive ends early' });
  await db.prisma.batch.update({
    where: { batchId: FAILED },
    data: { failedAt: new Date(transferredAt.getTime() + 5000) },
  });

  // Bug 4: 15 entries, 12 refused by unpack, 3 files done: 3/15, not 3/3.
  await create(HOSTILE, 'upload:hostile.tar');
  await batches.markUnpacking(HOSTILE, 'gpu-a');
  for (let i = 0; i < 12; i++)
    await failures.record({
      batchId: HOSTILE,
      entry: `../evil-${i}.mp3`,
      stage: 'unpack',
      reasonCode: 'unsafe_path',
      message: 'path leaves the archive',
      attempts: 1,
    });
  await batches.markUnpacked(HOSTILE, { fileCount: 3 });
  for (const name of ['h1.mp3', 'h2.mp3', 'h3.mp3']) await result(HOSTILE, name, name === 'h2.mp3');
  await batches.markComplete(HOSTILE, { succeeded: 3, failed: 12 });

  // A big batch, two days old: 450 entries, a page of files at a time.
  const old = new Date(Date.now() - 50 * HOUR);
  await batches.create({
    batchId: BIG,
    archiveKey: `archives/${BIG}.tar`,
    sha256: 'a'.repeat(64),
    sizeBytes: 1024,
    source: 'sftp://ec2/incoming/big.tar',
    transferredAt: old,
  });
  await batches.markUnpacking(BIG, 'gpu-a');
  await batches.markUnpacked(BIG, { fileCount: 0 });
  await batches.markComplete(BIG, { succeeded: 0, failed: 450 });
  await db.prisma.batch.update({
    where: { batchId: BIG },
    data: { completedAt: new Date(old.getTime() + HOUR) },
  });
  await db.prisma.processingFailure.createMany({
    data: Array.from({ length: 450 }, (_, i) => ({
      batchId: BIG,
      entry: `big/${String(i).padStart(4, '0')}.mp3`,
      stage: 'unpack' as const,
      reasonCode: 'not_mp3',
      message: 'not MP3',
      createdAt: old,
      updatedAt: old,
    })),
  });
}

// The dashboard on real servers with seeded batches; Debian's Chromium uses it as an operator would.
describe('the operator pages in a browser', () => {
  const suffix = crypto.randomBytes(3).toString('hex');
  const logger = createLogger({ name: 'operator-pages-test', level: process.env.LOG_LEVEL ?? 'silent' });
  let database: TestDatabase;
  let db: Db;
  let dashboard: RunningDashboard | undefined;
  let browser: Browser | undefined;
  let page: Page;

  beforeAll(async () => {
    database = await createTestDatabase();
    db = createDb({ databaseUrl: database.databaseUrl, poolSize: 2, connectionTimeoutMs: 60_000 });
    await seed(db);
    const env = {
      ...process.env,
      DATABASE_URL: database.databaseUrl,
      QUEUE_PREFIX: `{dash-ops-${suffix}}`,
      DASHBOARD_ADMIN_USER: ADMIN.username,
      DASHBOARD_ADMIN_PASSWORD: ADMIN.password,
      DASHBOARD_HOST: '127.0.0.1',
      HEALTH_CHECK_TIMEOUT: '30s',
    };
    dashboard = await startDashboard({ env, logger, port: 0 });
    await new UserAccounts(new ReviewerRepository(db)).create(VIEWER.username, VIEWER.password, 'viewer');
    browser = await launchChromium();
    ({ page } = await openWindow(browser));
  }, 300_000);

  afterAll(async () => {
    await browser?.close();
    await dashboard?.close();
    await db?.close();
    await database?.drop();
  });

  const shot = (name: string) =>
    page.screenshot({ path: path.join(ARTIFACTS, `ops-${name}.png`), fullPage: true });
  const row = (batchId: string) => page.locator('tbody tr', { hasText: batchId });

  it('shows the first run\'s "Took", a failed batch\'s stopped clock and refused entries in the totals', async () => {
    await logIn(page, dashboard!.url, ADMIN, '/batches');
    // Bug 1: the replay did not move the first completion.
    expect(await row(REPLAYED).locator('td.took').innerText()).toBe('1.1 s');
    // Bug 3: a failed batch's clock stopped when it failed.
    expect(await row(FAILED).locator('td.took').innerText()).toBe('failed after 5.0 s');
    // Bug 4: 3 of 15 entries done, 12 refused.
    const hostile = await row(HOSTILE).innerText();
    expect(hostile).toContain('3/15');
    expect(hostile).toMatch(/\b12\b/);
    const doneWidth = await row(HOSTILE).locator('.bar .done').getAttribute('style');
    expect(doneWidth).toContain('width:20.0%');
    await shot('01-batches');

    await page.click(`a[href="/batches/${REPLAYED}"]`);
    await page.waitForURL(`**/batches/${REPLAYED}`);
    const runs = page.locator('table.runs tbody tr');
    expect(await runs.count()).toBe(2);
    expect(await runs.nth(0).innerText()).toContain('gpu-a');
    expect(await runs.nth(1).innerText()).toContain('gpu-b');
    await shot('02-replayed-batch');
  });

  it('says "degraded" with a failed batch in the last 24 h, and links the card to the filtered list (bug 7)', async () => {
    await page.goto(`${dashboard!.url}/status`);
    expect(await page.locator('h1 .badge').innerText()).toBe('degraded');
    expect(await page.locator('.warnings').innerText()).toContain(`${FAILED} (truncated_archive)`);
    // The page reloads itself; ?refresh=0 stops it.
    expect(await page.locator('meta[http-equiv=refresh]').getAttribute('content')).toBe('30');
    await shot('03-status-degraded');
    await page.click('.card.failed-recently a');
    await page.waitForURL('**/batches?failed=24h');
    const ids = await page.locator('table.batches tbody tr td:first-child').allInnerTexts();
    // The failed batch and the one with 12 refused entries; not the clean replayed one.
    expect(ids.sort()).toEqual([FAILED, HOSTILE].sort());
    await page.goto(`${dashboard!.url}/status?refresh=0`);
    expect(await page.locator('meta[http-equiv=refresh]').count()).toBe(0);
  });

  it('searches by batch id and source, filters by date and counts per status', async () => {
    await page.goto(`${dashboard!.url}/batches`);
    expect(await page.locator('.status-counts').innerText()).toContain('all (4)');
    expect(await page.locator('.status-counts a[data-status=failed]').innerText()).toBe('failed (1)');
    await page.fill('input[name=q]', 'TRUNCATED');
    await page.click('form.filters button[type=submit]');
    await page.waitForURL(/q=TRUNCATED/);
    expect(await page.locator('table.batches tbody tr').allInnerTexts()).toEqual([
      expect.stringContaining(FAILED),
    ]);
    expect(await page.locator('.status-counts').innerText()).toContain('all (1)');
    await page.goto(`${dashboard!.url}/batches?q=aaaaa3`);
    expect(await page.locator('table.batches tbody tr').count()).toBe(1);
    const today = new Date().toISOString().slice(0, 10);
    await page.goto(`${dashboard!.url}/batches?from=${today}&to=${today}`);
    expect(await page.locator('table.batches tbody tr').count()).toBe(3);
    await page.goto(`${dashboard!.url}/batches?to=2020-01-01`);
    expect(await page.locator('main').innerText()).toContain('No batches match the filter');
    const bad = await page.goto(`${dashboard!.url}/batches?from=yesterday`);
    expect(bad!.status()).toBe(400);
    expect(await page.locator('a.button.primary').getAttribute('href')).toBe('/batches');
    await shot('04-batches-filtered');
  });

  it("filters a batch's files to failed or flagged ones, a page at a time, with links to their jobs", async () => {
    await page.goto(`${dashboard!.url}/batches/${HOSTILE}`);
    expect(await page.locator('table.files tbody tr').count()).toBe(15);
    await page.click('.file-filter a[data-show=failed]');
    await page.waitForURL(/show=failed/);
    expect(await page.locator('table.files tbody tr').count()).toBe(12);
    await page.click('.file-filter a[data-show=flagged]');
    await page.waitForURL(/show=flagged/);
    expect(await page.locator('table.files tbody tr').allInnerTexts()).toEqual([
      expect.stringContaining('h2.mp3'),
    ]);

    const big = await page.goto(`${dashboard!.url}/batches/${BIG}`);
    expect((await big!.body()).length).toBeLessThan(400_000);
    expect(await page.locator('table.files tbody tr').count()).toBe(200);
    expect(await page.locator('.files-pager').innerText()).toContain('page 1 of 3');
    await page.click('.files-pager a:has-text("next")');
    await page.waitForURL(/page=2/);
    expect(await page.locator('table.files tbody tr').first().innerText()).toContain('big/0200.mp3');
    await page.goto(`${dashboard!.url}/batches/${BIG}?page=3`);
    expect(await page.locator('table.files tbody tr').count()).toBe(50);
    expect((await page.goto(`${dashboard!.url}/batches/${BIG}?show=bogus`))!.status()).toBe(400);
    await shot('05-big-batch-page');
  });

  it('offers Replay batch to ops/admin only, behind a confirmation with the form token', async () => {
    await logIn(page, dashboard!.url, ADMIN, `/batches/${FAILED}`);
    expect(await page.locator('.actions a.button').allInnerTexts()).toEqual(['Replay batch']);
    // A post without the session's form token is refused with a page that leads back.
    const forged = await page.request.post(`${dashboard!.url}/batches/${FAILED}/replay`, { form: {} });
    expect(forged.status()).toBe(403);
    // The archive is not in S3 (seeded rows only): the replay says so, nothing is queued.
    await page.click('.actions a.button');
    await page.waitForURL(`**/batches/${FAILED}/replay`);
    await page.click('form.confirm button[type=submit]');
    expect(await page.locator('main').innerText()).toContain(`cannot replay batch ${FAILED}`);
    await shot('05-replay-refused');

    await logIn(page, dashboard!.url, VIEWER, `/batches/${FAILED}`);
    expect(await page.locator('.actions').count()).toBe(0);
    const viewerGet = await page.goto(`${dashboard!.url}/batches/${FAILED}/replay`);
    expect(viewerGet!.status()).toBe(403);
    await logIn(page, dashboard!.url, ADMIN, '/batches');
  });

  it('fits a 390 px screen: the header wraps and "Log out" stays readable; 403/404 are pages with a way back (bug 10)', async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    try {
      await page.goto(`${dashboard!.url}/batches`);
      const header = await page.locator('header').boundingBox();
      const button = await page.locator('header button', { hasText: 'Log out' }).boundingBox();
      expect(button!.x + button!.width).toBeLessThanOrEqual(390);
      expect(button!.y + button!.height).toBeLessThanOrEqual(header!.y + header!.height);
      // The button's own colours, and the header's behind it: dark on light is what failed before.
      const colours = (await page.evaluate(
        "(() => { const s = getComputedStyle(document.querySelector('header button')); return { color: s.color, background: s.backgroundColor }; })()",
      )) as { color: string; background: string };
      expect(contrast(colours.color, colours.background)).toBeGreaterThanOrEqual(4.5);
      const bodyWidth = (await page.evaluate('document.documentElement.scrollWidth')) as number;
      expect(bodyWidth).toBeLessThanOrEqual(390);
      await shot('05-narrow-header');

      const missing = await page.goto(`${dashboard!.url}/no/such/page`);
      expect(missing!.status()).toBe(404);
      expect(await page.locator('h1').innerText()).toContain('404');
      expect(await page.locator('header').count()).toBe(1);
      await page.click('a.button.primary');
      await page.waitForURL('**/batches');
      const noBatch = await page.goto(`${dashboard!.url}/batches/20990101-000000-ffffff`);
      expect(noBatch!.status()).toBe(404);
      expect(await page.locator('a.button.primary').getAttribute('href')).toBe('/batches');

      await logIn(page, dashboard!.url, VIEWER, '/batches');
      // A viewer on the ops-only replay route: a page that says why, and a way back.
      const forbidden = await page.goto(`${dashboard!.url}/review`);
      expect(forbidden!.status()).toBe(403);
      expect(await page.locator('main').innerText()).toContain('viewer role may not');
      await page.click('a.button.primary');
      await page.waitForURL('**/batches');
      await shot('06-narrow-403');
    } finally {
      await page.setViewportSize({ width: 1400, height: 900 });
    }
  });
});

/** WCAG contrast ratio of two `rgb(...)` colours. */
function contrast(a: string, b: string): number {
  const lum = (c: string) => {
    const [r, g, bl] = (c.match(/\d+(\.\d+)?/g) ?? []).slice(0, 3).map((v) => {
      const x = Number(v) / 255;
      return x <= 0.03928 ? x / 12.92 : ((x + 0.055) / 1.055) ** 2.4;
    });
    return 0.2126 * r! + 0.7152 * g! + 0.0722 * bl!;
  };
  const [hi, lo] = [lum(a), lum(b)].sort((x, y) => y - x);
  return (hi! + 0.05) / (lo! + 0.05);
}
