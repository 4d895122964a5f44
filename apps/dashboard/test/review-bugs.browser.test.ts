import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Browser, Page } from 'playwright-core';
import { createTestDashboard, createUser, reviewers, type TestDashboard } from './support/test-dashboard.js';
import { logInOnPage, logInWindow, seedReviewItems, type SeededFile } from './support/review-seed.js';
import { ARTIFACTS, serveToChromium, type ServedDashboard } from './support/browser.js';

const DEMO_POLICY = fileURLToPath(new URL('../../gpu/policies/demo-policy.json', import.meta.url));
const BATCH = '20250622-143052-b0b0b0';
const say = (text: string) => [{ start: 0, end: 4, text }];

// The bugs issue 15 reproduced in Chromium, each as reviewers met it, on real Postgres, Redis and Swift.
describe('review page: the reproduced bugs', () => {
  let dashboard: TestDashboard;
  let url: string;
  let browser: Browser;
  let site: ServedDashboard | undefined;
  let files: Record<string, SeededFile>;
  const ids: Record<string, string> = {};

  beforeAll(async () => {
    dashboard = await createTestDashboard({ env: { POLICY_FILE: DEMO_POLICY } });
    for (const name of ['ra1', 'ra2', 'ra3']) ids[name] = await createUser(dashboard, name, 'reviewer');
    ids.boss = await createUser(dashboard, 'boss', 'admin');
    const seeded = await seedReviewItems(dashboard, BATCH, [
      { name: 'f1', flagged: true, segments: say('I will attack the station') },
      { name: 'f2', flagged: true, segments: say('bring the explosive tonight') },
      { name: 'f3', flagged: true, segments: say('this traffic is killing me') },
      { name: 'f4', flagged: true, segments: say('we shoot the film at noon') },
      { name: 'f5', flagged: true, segments: say('stab the potatoes with a fork') },
      // After a label the page leases the next item at once: ra1 and ra2 end up holding these.
      { name: 'f6', flagged: true, segments: say('the bomb squad gave a talk') },
      { name: 'f7', flagged: true, segments: say('kill the lights please') },
      { name: 'c1', flagged: false, segments: say('the weather is lovely today') },
    ]);
    files = Object.fromEntries(seeded.map((f) => [f.name, f]));
    site = await serveToChromium(dashboard);
    ({ url, browser } = site);
  }, 300_000);

  afterAll(async () => {
    await site?.close();
    await dashboard?.close();
  });

  const labelsOf = (audioFileId: string) =>
    dashboard.db.prisma.raLabel.findMany({ where: { audioFileId }, include: { reviewer: true } });
  const openLeasesOf = (reviewerId: string) =>
    dashboard.db.prisma.raAssignment.findMany({ where: { reviewerId, status: 'open' } });
  // The label form: the old page's only form, the new page's first form on an item (not undo's).
  const LABEL_FORM = 'form[action^="/review/"][method=post]:not([action="/review/undo"])';
  const heldItem = async (page: Page) => {
    const action = await page.locator(LABEL_FORM).first().getAttribute('action');
    return action!.split('/')[2]!;
  };
  const submit = (page: Page) => page.locator(`${LABEL_FORM} button[type=submit]`).first().click();

  it("stores only the lease holder's label; the stale page says so and keeps its answers", async () => {
    const a = await logInWindow(browser, url, 'ra1', '/review');
    expect(await heldItem(a.page)).toBe(files.f1!.id);
    await a.page.check('input[name=violatesPolicy][value=unsure]');
    await a.page.selectOption('select[name=category]', 'other');
    await a.page.fill('textarea[name=notes]', 'notes from a stale page');
    // ra1 goes for coffee: the lease runs out and ra2 gets the item.
    await dashboard.db.prisma.raAssignment.updateMany({
      where: { reviewerId: ids.ra1, status: 'open' },
      data: { leaseExpiresAt: new Date(Date.now() - 1000) },
    });
    const b = await logInWindow(browser, url, 'ra2', '/review');
    expect(await heldItem(b.page)).toBe(files.f1!.id);
    await b.page.check('input[name=violatesPolicy][value=yes]');
    await b.page.selectOption('select[name=category]', 'threat');
    await Promise.all([b.page.waitForURL(/saved=/), submit(b.page)]);

    await submit(a.page);
    await a.page.locator('[role=alert]').waitFor();
    expect(await a.page.locator('[role=alert]').innerText()).toMatch(/no longer hold|lease/i);
    expect(await a.page.isChecked('input[name=violatesPolicy][value=unsure]')).toBe(true);
    expect(await a.page.inputValue('textarea[name=notes]')).toBe('notes from a stale page');
    await a.page.screenshot({ path: path.join(ARTIFACTS, 'review-09-stale-page.png'), fullPage: true });
    const labels = await labelsOf(files.f1!.id);
    expect(
      labels.map((l) => [l.reviewer.username, (l.answers as { violatesPolicy: string }).violatesPolicy]),
    ).toEqual([['ra2', 'yes']]);
    await a.context.close();
    await b.context.close();
  });

  it('refuses a label for a file the reviewer never held', async () => {
    const { page, context } = await logInWindow(browser, url, 'ra3', '/review');
    const csrf = await page.locator('input[name=_csrf]').first().inputValue();
    for (const file of [files.c1!, files.f5!]) {
      const response = await page.request.post(`${url}/review/${file.id}`, {
        form: { _csrf: csrf, violatesPolicy: 'yes', category: 'threat' },
        maxRedirects: 0,
      });
      expect(response.status()).toBe(409);
      expect(await response.text()).toMatch(/do not hold|not yours|no longer hold/i);
      expect(await labelsOf(file.id)).toEqual([]);
    }
    // Hand back what the page leased, for the next tests.
    await dashboard.db.prisma.raAssignment.updateMany({
      where: { reviewerId: ids.ra3, status: 'open' },
      data: { status: 'released', closedAt: new Date() },
    });
    await context.close();
  });

  it('keeps the answers through a login when the session expired during labelling', async () => {
    const { page, context } = await logInWindow(browser, url, 'ra1', '/review');
    const item = await heldItem(page);
    await page.check('input[name=violatesPolicy][value=yes]');
    await page.selectOption('select[name=category]', 'threat');
    await page.fill('textarea[name=notes]', 'typed before the session ended');
    await context.clearCookies(); // the session cookie ran out
    await Promise.all([page.waitForURL(/\/login/), submit(page)]);
    await logInOnPage(page, 'ra1');
    expect(new URL(page.url()).pathname).toBe(`/review/${item}`);
    expect(await page.isChecked('input[name=violatesPolicy][value=yes]')).toBe(true);
    expect(await page.inputValue('select[name=category]')).toBe('threat');
    expect(await page.inputValue('textarea[name=notes]')).toBe('typed before the session ended');
    await Promise.all([page.waitForURL(/saved=/), submit(page)]);
    expect((await labelsOf(item)).map((l) => l.notes)).toEqual(['typed before the session ended']);
    await context.close();
  });

  it('an admin who opens /review leases nothing until asked', async () => {
    const { page, context } = await logInWindow(browser, url, 'boss', '/review');
    expect(await openLeasesOf(ids.boss!)).toEqual([]);
    expect(await page.locator('main').innerText()).toMatch(/start reviewing/i);
    await context.close();
  });

  it('asks for a category only when the answer says it applies, with the policy text at hand', async () => {
    const { page, context } = await logInWindow(browser, url, 'ra2', '/review');
    const item = await heldItem(page);
    expect(await page.locator('main').innerText()).toContain(
      'This policy identifies speech that threatens, incites or plans violence',
    );
    await page.check('input[name=violatesPolicy][value=no]');
    await Promise.all([page.waitForURL(/saved=/), submit(page)]);
    const [label] = await labelsOf(item);
    expect(label?.answers).toEqual({ violatesPolicy: 'no' });
    await context.close();
  });

  it('a deactivated reviewer cannot claim, and the lease it held goes back to the queue', async () => {
    const { page, context } = await logInWindow(browser, url, 'ra3', '/review');
    const item = await heldItem(page);
    await reviewers(dashboard).setActive(ids.ra3!, false);
    expect(await openLeasesOf(ids.ra3!)).toEqual([]);
    await page.goto(`${url}/review`);
    await page.waitForURL(/\/login/);
    expect(await openLeasesOf(ids.ra3!)).toEqual([]);
    expect(await reviewers(dashboard).claimNext(ids.ra3!)).toBeNull();
    expect(
      (await reviewers(dashboard).queue()).find((q) => q.audioFileId === item)?.assignedReviewerId,
    ).toBeNull();
    await context.close();
  });
});
