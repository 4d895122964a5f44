import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { AudioFileRepository, BatchRepository } from '@audio/db';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { openWindow } from './browser.js';
import type { TestDashboard } from './test-dashboard.js';
import { PASSWORD } from './test-dashboard.js';

const run = promisify(execFile);

export interface SeededFile {
  id: string;
  name: string;
  transcript: string;
  opusKey: string;
}

/**
 * A batch of review items on the test dashboard's real database and S3: `flagged` files (flagged in this
 * order, so the queue hands them out in this order) and `clean` ones, each with a real Opus file (a
 * tone, made by ffmpeg) and a transcript of timed segments, as WhisperX stores them.
 */
export async function seedReviewItems(
  dashboard: TestDashboard,
  batchId: string,
  items: { name: string; flagged: boolean; segments: { start: number; end: number; text: string }[] }[],
): Promise<SeededFile[]> {
  await new BatchRepository(dashboard.db).create({
    batchId,
    archiveKey: `archives/${batchId}.tar`,
    sha256: 'a'.repeat(64),
    sizeBytes: 1,
    source: 'inbox',
    transferredAt: new Date(),
  });
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'review-seed-'));
  try {
    const opus = path.join(work, 'tone.opus');
    await run('ffmpeg', [
      '-hide_banner',
      '-loglevel',
      'error',
      '-f',
      'lavfi',
      '-i',
      'sine=frequency=440:duration=12',
      '-c:a',
      'libopus',
      '-b:a',
      '24k',
      opus,
    ]);
    const files = new AudioFileRepository(dashboard.db);
    const seeded: SeededFile[] = [];
    for (const item of items) {
      const transcript = item.segments.map((s) => s.text).join(' ');
      const { audioFileId } = await files.recordFileResult({
        batchId,
        originalFilename: `${item.name}.mp3`,
        durationSeconds: 12,
        sizeBytes: 1000,
        sha256: 'b'.repeat(64),
        transcript: { text: transcript, language: 'en', segments: item.segments, model: 'fixture' },
        classification: {
          policyId: 'violent-threats',
          policyVersion: '2025-06-01',
          flagged: item.flagged,
          score: item.flagged ? 0.93 : 0.04,
          model: 'fixture',
        },
      });
      const opusKey = `processed/2025-06-22/${audioFileId}.opus`;
      await dashboard.store.uploadOpus(opus, opusKey);
      await files.setOpusKey(audioFileId, opusKey);
      seeded.push({ id: audioFileId, name: item.name, transcript, opusKey });
    }
    return seeded;
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}

/** A browser window of its own (own cookies and storage) logged in as the user, left on `next`. */
export async function logInWindow(
  browser: Browser,
  url: string,
  username: string,
  next: string,
): Promise<{ context: BrowserContext; page: Page }> {
  const { context, page } = await openWindow(browser, { width: 1400, height: 1000 });
  await page.goto(`${url}${next}`);
  await page.waitForURL(/\/login/);
  await logInOnPage(page, username);
  return { context, page };
}

/** Fills and sends the login form the page shows. */
export async function logInOnPage(page: Page, username: string): Promise<void> {
  await page.fill('input[name=username]', username);
  await page.fill('input[name=password]', PASSWORD);
  await Promise.all([
    page.waitForURL((u) => !u.pathname.startsWith('/login')),
    page.click('button[type=submit]'),
  ]);
}
