import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { createTestDashboard, createUser, type TestDashboard } from './support/test-dashboard.js';
import { logInWindow, seedReviewItems, type SeededFile } from './support/review-seed.js';
import { ARTIFACTS, serveToChromium, type ServedDashboard } from './support/browser.js';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const DEMO_POLICY = path.resolve(HERE, '../../gpu/policies/demo-policy.json');
const BATCH = '20250622-143052-f10f10';
const lines = (name: string) => [
  { start: 0, end: 4, text: `${name}: the first line` },
  { start: 4, end: 8, text: `${name}: the second line` },
  { start: 8, end: 12, text: `${name}: the third line` },
];

/** Polls a condition in the page until it holds; the deadline only catches a hang. */
async function until(page: Page, condition: string, what: string): Promise<void> {
  try {
    await page.waitForFunction(condition, undefined, { timeout: 120_000, polling: 100 });
  } catch (error) {
    throw new Error(`${what}: ${condition} never held (${(error as Error).message.split('\n')[0]})`);
  }
}

// A research assistant's day on the review page, with the keyboard, in Chromium, on real Postgres,
// Redis and Swift: play, speed, seek from the transcript, answer, save, undo, skip, audio that does
// not load, progress and history. Screenshots go to test-artifacts/dashboard/review-*.png.
describe('review page: the flow and its shortcuts', () => {
  let dashboard: TestDashboard;
  let url: string;
  let browser: Browser;
  let site: ServedDashboard | undefined;
  let rx: { context: BrowserContext; page: Page };
  let files: Record<string, SeededFile>;
  const ids: Record<string, string> = {};

  beforeAll(async () => {
    dashboard = await createTestDashboard({ env: { POLICY_FILE: DEMO_POLICY } });
    for (const name of ['rx', 'ry']) ids[name] = await createUser(dashboard, name, 'reviewer');
    ids.chief = await createUser(dashboard, 'chief', 'admin');
    const seeded = await seedReviewItems(
      dashboard,
      BATCH,
      ['a1', 'a2', 'broken', 'missing', 'a3'].map((name) => ({ name, flagged: true, segments: lines(name) })),
    );
    files = Object.fromEntries(seeded.map((f) => [f.name, f]));
    // One copy unreadable (the browser cannot decode it), one gone from storage.
    const garbage = path.join(os.tmpdir(), `not-audio-${process.pid}.opus`);
    fs.writeFileSync(garbage, 'this is not an Ogg Opus file');
    await dashboard.store.uploadOpus(garbage, files.broken!.opusKey);
    fs.rmSync(garbage);
    await dashboard.store.delete(files.missing!.opusKey);
    site = await serveToChromium(dashboard);
    ({ url, browser } = site);
    rx = await logInWindow(browser, url, 'rx', '/review');
  }, 300_000);

  afterAll(async () => {
    await site?.close();
    await dashboard?.close();
  });

  const shot = (page: Page, name: string) =>
    page.screenshot({ path: path.join(ARTIFACTS, `review-${name}.png`), fullPage: true });
  const onItem = (page: Page, file: SeededFile) =>
    page.waitForURL((u) => u.pathname === `/review/${file.id}`);
  const labelOf = (file: SeededFile, reviewerId: string) =>
    dashboard.db.prisma.raLabel.findUnique({
      where: { audioFileId_reviewerId: { audioFileId: file.id, reviewerId } },
    });
  const progress = async (page: Page) =>
    (await page.locator('#review-progress').innerText()).replace(/\s+/g, ' ');

  it('shows the item: timed transcript lines, audio, policy, progress', async () => {
    const { page } = rx;
    await onItem(page, files.a1!);
    const segments = await page.locator('button.segment').allInnerTexts();
    expect(segments.map((s) => s.replace(/\s+/g, ' '))).toEqual([
      '0:00–0:04 a1: the first line',
      '0:04–0:08 a1: the second line',
      '0:08–0:12 a1: the third line',
    ]);
    expect(await progress(page)).toContain('Waiting for you 4');
    expect(await progress(page)).toContain('Done today by you 0');
    expect(await page.locator('#policy').innerText()).toContain('Violent threats');
    await until(page, 'document.getElementById("player").readyState >= 1', 'the audio loads');
    await shot(page, '01-item');
  });

  it('plays, pauses, changes speed and seeks from a transcript line, by keyboard and click', async () => {
    const { page } = rx;
    await page.keyboard.press('Space');
    await until(page, '!document.getElementById("player").paused', 'Space plays');
    await page.keyboard.press('k');
    await until(page, 'document.getElementById("player").paused', 'K pauses');
    await page.keyboard.press(']');
    expect(await page.evaluate('document.getElementById("player").playbackRate')).toBe(1.25);
    await page.keyboard.press('[');
    await page.keyboard.press('[');
    expect(await page.evaluate('document.getElementById("player").playbackRate')).toBe(0.75);
    expect(await page.inputValue('#speed')).toBe('0.75');
    await page.selectOption('#speed', '1');
    await page.locator('button.segment').nth(2).click();
    await until(page, 'document.getElementById("player").currentTime >= 8', 'a click on 0:08 seeks there');
    await page.keyboard.press('Space'); // pause
    await until(page, 'document.getElementById("player").paused', 'Space pauses');
    await page.keyboard.press('j');
    await until(page, 'document.getElementById("player").currentTime < 8', 'J goes back 5 s');
  });

  it('answers with the keyboard; the category appears only when the answer asks for it', async () => {
    const { page } = rx;
    await page.keyboard.press('n');
    expect(await page.isChecked('input[name=violatesPolicy][value=no]')).toBe(true);
    expect(await page.isHidden('#category-field')).toBe(true);
    await page.keyboard.press('y');
    expect(await page.isVisible('#category-field')).toBe(true);
    expect(await page.evaluate('document.querySelector("select[name=category]").required')).toBe(true);
    await page.keyboard.press('Enter'); // no category yet: the browser keeps the form
    expect(new URL(page.url()).pathname).toBe(`/review/${files.a1!.id}`);
    await page.keyboard.press('1');
    expect(await page.inputValue('select[name=category]')).toBe('threat');
    // Letters typed into the notes are notes, not shortcuts.
    await page.click('textarea[name=notes]');
    await page.keyboard.type('names a station; y n u s');
    await page.keyboard.press('Escape');
    expect(await page.isChecked('input[name=violatesPolicy][value=yes]')).toBe(true);
    await shot(page, '02-answered');
    await page.keyboard.press('Enter');
    await onItem(page, files.a2!);
    expect(await page.locator('[role=status]').innerText()).toContain('Saved.');
    const label = await labelOf(files.a1!, ids.rx!);
    expect([label?.answers, label?.notes]).toEqual([
      { violatesPolicy: 'yes', category: 'threat' },
      'names a station; y n u s',
    ]);
    expect(await progress(page)).toContain('Done today by you 1');
    expect(await page.locator('#recent-labels').innerText()).toContain('a1.mp3');
    await shot(page, '03-saved-next');
  });

  it('undoes the last label while its lease runs, with the answers back in the form', async () => {
    const { page } = rx;
    await page.keyboard.press('z');
    await onItem(page, files.a1!);
    expect(await labelOf(files.a1!, ids.rx!)).toBeNull();
    expect(await page.isChecked('input[name=violatesPolicy][value=yes]')).toBe(true);
    expect(await page.inputValue('select[name=category]')).toBe('threat');
    expect(await page.inputValue('textarea[name=notes]')).toBe('names a station; y n u s');
    // The item leased after the label went back to the queue.
    const a2 = await dashboard.db.prisma.raAssignment.findFirst({
      where: { audioFileId: files.a2!.id, reviewerId: ids.rx },
      orderBy: { id: 'desc' },
    });
    expect(a2?.status).toBe('released');
    await shot(page, '04-undone');
    await page.keyboard.press('u');
    await page.keyboard.press('Enter');
    await onItem(page, files.a2!);
    expect((await labelOf(files.a1!, ids.rx!))?.answers).toEqual({
      violatesPolicy: 'unsure',
      category: 'threat',
    });
  });

  it('skips with a reason, and a skipped item is not offered to that reviewer again', async () => {
    const { page } = rx;
    await page.keyboard.press('s');
    expect(await page.evaluate('document.getElementById("skip-panel").open')).toBe(true);
    await page.selectOption('#skip-form select[name=reason]', 'I know the speaker');
    await page.keyboard.press('Enter');
    await onItem(page, files.broken!);
    const skipped = await dashboard.db.prisma.raAssignment.findFirst({
      where: { audioFileId: files.a2!.id, reviewerId: ids.rx, status: 'skipped' },
    });
    expect(skipped?.skipReason).toBe('I know the speaker');
  });

  it('says plainly when the audio cannot be loaded and lets the reviewer skip it', async () => {
    const { page } = rx;
    // Stored, but not audio: the browser fails to decode it.
    await until(page, 'document.getElementById("player").error !== null', 'the browser gives up on the file');
    await page.locator('#audio-error').waitFor({ state: 'visible' });
    expect(await page.locator('#audio-error').innerText()).toMatch(/could not be loaded/);
    expect(await page.inputValue('#skip-form select[name=reason]')).toBe('audio does not load');
    await shot(page, '05-audio-error');
    await page.click('#skip-form button[type=submit]');
    // Gone from storage: the server says so before the browser tries.
    await onItem(page, files.missing!);
    expect(await page.locator('#audio-problem').innerText()).toContain('is missing from storage');
    expect(await page.locator('audio').count()).toBe(0);
    await shot(page, '06-audio-missing');
    await page.keyboard.press('s');
    await page.keyboard.press('Enter'); // the first reason: audio does not load
    await onItem(page, files.a3!);
    await page.keyboard.press('n');
    await page.keyboard.press('Enter');
    await page.waitForURL((u) => u.pathname === '/review');
    expect(await page.locator('main').innerText()).toContain('Nothing is waiting for you right now.');
    expect(await progress(page)).toContain('Done today by you 2');
    expect(await progress(page)).toContain('Skipped today 3');
    await shot(page, '07-nothing-waiting');
    // What rx skipped, the others still get.
    const ry = await logInWindow(browser, url, 'ry', '/review');
    await onItem(ry.page, files.a2!);
    await ry.context.close();
  });

  it('lets staff look without leasing, and start when they ask', async () => {
    const chief = await logInWindow(browser, url, 'chief', '/review');
    expect(new URL(chief.page.url()).pathname).toBe('/review');
    expect(
      await dashboard.db.prisma.raAssignment.count({ where: { reviewerId: ids.chief, status: 'open' } }),
    ).toBe(0);
    await shot(chief.page, '08-staff-start');
    await chief.page.click('text=Start reviewing');
    await chief.page.waitForURL(/\/review\/[0-9a-f-]{36}/);
    expect(
      await dashboard.db.prisma.raAssignment.count({ where: { reviewerId: ids.chief, status: 'open' } }),
    ).toBe(1);
    await chief.context.close();
  });
});
