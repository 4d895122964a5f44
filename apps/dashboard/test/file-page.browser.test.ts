import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { PolicyRepository } from '@audio/db';
import type { Browser, Page } from 'playwright-core';
import { createTestDashboard, createUser, reviewers, type TestDashboard } from './support/test-dashboard.js';
import { logInWindow, seedReviewItems, type SeededFile } from './support/review-seed.js';
import { ARTIFACTS, serveToChromium, type ServedDashboard } from './support/browser.js';

const BATCH = '20250622-143052-f11e00';
const say = (text: string) => [{ start: 0, end: 4, text }];

/** The labels table as the eye reads it: one array of cell texts per row. */
async function labelRows(page: Page): Promise<string[][]> {
  const rows = page.locator('table.labels tbody tr');
  const result: string[][] = [];
  for (let i = 0; i < (await rows.count()); i++) {
    const cells = await rows.nth(i).locator('td').allInnerTexts();
    result.push(cells.map((c) => c.replace(/\s+/g, ' ').trim()));
  }
  return result;
}

// From a batch to one of its files and its labels, in Chromium, on real Postgres, Redis and Swift.
describe('file page in a browser', () => {
  let dashboard: TestDashboard;
  let url: string;
  let browser: Browser;
  let site: ServedDashboard | undefined;
  let files: Record<string, SeededFile>;

  beforeAll(async () => {
    dashboard = await createTestDashboard();
    // The seeds' version, stored and active, sends every flagged file to two reviewers.
    const policies = new PolicyRepository(dashboard.db);
    await policies.add({
      id: 'violent-threats',
      version: '2025-06-01',
      sha256: '1'.repeat(64),
      text: '{}',
      title: 'Violent threats',
    });
    await policies.activate('violent-threats', '2025-06-01');
    await policies.setSampling('violent-threats', '2025-06-01', { doubleReviewShare: 1 });
    const seeded = await seedReviewItems(dashboard, BATCH, [
      { name: 'threat', flagged: true, segments: say('I will attack the station') },
      { name: 'waiting', flagged: true, segments: say('bring the explosive tonight') },
      { name: 'third', flagged: true, segments: say('kill the lights please') },
    ]);
    files = Object.fromEntries(seeded.map((f) => [f.name, f]));
    for (const name of ['ann', 'bob']) await createUser(dashboard, name, 'reviewer');
    await createUser(dashboard, 'vera', 'viewer');
    await createUser(dashboard, 'boss', 'admin');
    const repo = reviewers(dashboard);
    const label = async (username: string, answers: Record<string, string>, notes: string | null) => {
      const reviewerId = (await repo.findByUsername(username))!.id;
      // A label needs the reviewer's running lease: seed one, as claiming would, then label.
      await dashboard.db.prisma.raAssignment.create({
        data: {
          audioFileId: files.threat!.id,
          reviewerId,
          leaseExpiresAt: new Date(Date.now() + 3_600_000),
        },
      });
      await repo.submitLabel({ audioFileId: files.threat!.id, reviewerId, answers, notes });
    };
    await label('ann', { violatesPolicy: 'yes', category: 'threat' }, 'names the <station> & a time');
    await label('bob', { violatesPolicy: 'unsure' }, null);
    site = await serveToChromium(dashboard);
    ({ url, browser } = site);
  }, 300_000);

  afterAll(async () => {
    await site?.close();
    await dashboard?.close();
  });

  it('goes from the batch page to a file and shows both labels, with the audio playable', async () => {
    const { page, context } = await logInWindow(browser, url, 'vera', '/batches');
    await Promise.all([
      page.waitForURL(`${url}/batches/${BATCH}`),
      page.click(`a[href="/batches/${BATCH}"]`),
    ]);
    await Promise.all([
      page.waitForURL(`${url}/files/${files.threat!.id}`),
      page.click('table.files a:has-text("threat.mp3")'),
    ]);
    expect(await page.locator('h1').innerText()).toBe('threat.mp3');
    expect(await page.locator('#transcript').innerText()).toBe('I will attack the station');
    const rows = await labelRows(page);
    expect(rows.map((r) => [r[0], r[1], r[2], r[3], r[4], r[6], r[7]])).toEqual([
      [
        '1',
        'ann (reviewer)',
        'yes',
        'threat',
        'names the <station> & a time',
        'violent-threats@2025-06-01',
        'double review (1 of 2)',
      ],
      ['2', 'bob (reviewer)', 'unsure', '–', '', 'violent-threats@2025-06-01', 'double review (2 of 2)'],
    ]);
    expect(await page.locator('h2#labels').innerText()).toBe('Labels (2)');
    // The player gets the Opus copy from S3 through its presigned URL (the page's CSP allows it).
    // Waits for the metadata or an error by events (no polling: the page's CSP forbids eval).
    const loaded = await page.evaluate(`new Promise((resolve) => {
      const audio = document.getElementById('player');
      audio.addEventListener('loadedmetadata', () => resolve(Math.round(audio.duration)));
      audio.addEventListener('error', () => resolve('error ' + audio.error.code));
      audio.load();
    })`);
    expect(loaded).toBe(12);
    await page.screenshot({ path: path.join(ARTIFACTS, 'file-page-labels.png'), fullPage: true });
    // And back to the batch.
    await Promise.all([
      page.waitForURL(`${url}/batches/${BATCH}`),
      page.locator('main p.muted').first().locator(`a[href="/batches/${BATCH}"]`).click(),
    ]);
    await context.close();
  });

  it("links an admin's review item to its file page", async () => {
    const { page, context } = await logInWindow(browser, url, 'boss', '/review');
    await Promise.all([
      page.waitForURL(new RegExp(`/review/${files.waiting!.id}`)),
      page.click('text=Start reviewing'),
    ]);
    await Promise.all([page.waitForURL(`${url}/files/${files.waiting!.id}`), page.click('#file-record')]);
    expect(await page.locator('.cards').innerText()).toMatch(
      /waiting for 2 more labels \(double\); held by boss/,
    );
    expect(await page.locator('main').innerText()).toContain('No labels yet.');
    await context.close();
  });

  it('has no file record link for a reviewer, whose page it would refuse', async () => {
    const { page, context } = await logInWindow(browser, url, 'ann', '/review');
    // ann labelled the first file and boss holds the second: the queue hands her the third.
    await page.waitForURL(new RegExp(`/review/${files.third!.id}`));
    expect(await page.locator('main').innerText()).toContain('kill the lights please');
    expect(await page.locator('#file-record').count()).toBe(0);
    expect(await page.locator(`a[href^="/files/"]`).count()).toBe(0);
    const response = await page.goto(`${url}/files/${files.threat!.id}`);
    expect(response?.status()).toBe(403);
    expect(await page.locator('main').innerText()).not.toContain('bob');
    await context.close();
  });
});
