import fs from 'node:fs';
import type { Server } from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import type { TestDashboard } from './test-dashboard.js';

/** Where the browser tests leave their screenshots, for a person to look at. */
export const ARTIFACTS = path.resolve(
  path.dirname(fileURLToPath(import.meta.url)),
  '../../../../test-artifacts/dashboard',
);
const CHROMIUM = '/usr/bin/chromium';
/**
 * Headless, and no background connections: this machine's closed network refuses them by the dozen.
 * Autoplay without a gesture: the review page's keyboard shortcuts play audio from a key press that a
 * test sends, which Chromium does not count as a user's gesture.
 */
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--autoplay-policy=no-user-gesture-required',
];

/** Debian's Chromium through playwright-core, headless; the screenshot folder made ready. */
export async function launchChromium(): Promise<Browser> {
  if (!fs.existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install -y chromium`);
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
}

/** A window of its own (own cookies and storage); waits give up only on a hang. */
export async function openWindow(
  browser: Browser,
  viewport = { width: 1400, height: 900 },
): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext({ viewport });
  const page = await context.newPage();
  page.setDefaultTimeout(120_000);
  return { context, page };
}

/** The test dashboard's app on a loopback port and a Chromium to use it; `close` ends both. */
export interface ServedDashboard {
  url: string;
  browser: Browser;
  close(): Promise<void>;
}

export async function serveToChromium(dashboard: TestDashboard): Promise<ServedDashboard> {
  const server = await new Promise<Server>((resolve) => {
    const s = dashboard.app.listen(0, '127.0.0.1', () => resolve(s));
  });
  const address = server.address();
  if (!address || typeof address === 'string') throw new Error('the test dashboard got no port');
  const closeServer = () => new Promise<void>((resolve) => server.close(() => resolve()));
  const browser = await launchChromium().catch(async (error: unknown) => {
    await closeServer();
    throw error;
  });
  return {
    url: `http://127.0.0.1:${address.port}`,
    browser,
    close: async () => {
      await browser.close();
      await closeServer();
    },
  };
}

/** Logs in through the login form and waits for `next`. */
export async function logIn(
  page: Page,
  baseUrl: string,
  user: { username: string; password: string },
  next: string,
): Promise<void> {
  await page.context().clearCookies();
  await page.goto(`${baseUrl}/login?next=${encodeURIComponent(next)}`);
  await page.fill('input[name=username]', user.username);
  await page.fill('input[name=password]', user.password);
  await page.click('button[type=submit]');
  await page.waitForURL((url) => url.pathname + url.search === next);
}
