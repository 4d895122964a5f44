import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import pg from 'pg';
import { makeManyFileArchive } from '@audio/fixtures';

// `pnpm dev` as a developer runs it, twice, in a checkout-like sandbox: its own .local-services folder
// (LOCAL_SERVICES_DIR) and temp directory, service variables unset so it finds or starts its own.
const REPO = path.resolve(import.meta.dirname, '../../..');
let sandbox: string;
let env: NodeJS.ProcessEnv;
let blocker: net.Server | undefined;
const runs: DevRun[] = [];

function developerEnv(root: string): NodeJS.ProcessEnv {
  const e: NodeJS.ProcessEnv = {
    ...process.env,
    NODE_OPTIONS: '',
    TMPDIR: path.join(root, 'tmp'),
    LOCAL_SERVICES_DIR: path.join(root, 'local-services'),
    LOG_PRETTY: '0',
  };
  for (const key of Object.keys(e)) {
    if (
      /^(REDIS_|DATABASE_URL|POSTGRES_|S3_|SCRATCH_|QUEUE_PREFIX|HOST_ID|TRANSFER_|SIDECAR_|DASHBOARD_|UPLOAD_API_)/.test(
        key,
      )
    )
      delete e[key];
  }
  return e;
}

interface DevRun {
  child: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
  /** Resolves with the output once `pattern` appears, or rejects when dev exits first. */
  waitFor(pattern: RegExp, what: string): Promise<RegExpExecArray>;
}

function startDev(extra: NodeJS.ProcessEnv = {}): DevRun {
  // Its own process group, as a terminal gives it: Ctrl-C reaches pnpm, dev and turbo at once.
  const child = spawn('pnpm', ['dev'], { cwd: REPO, env: { ...env, ...extra }, detached: true });

  let text = '';
  child.stdout!.on('data', (d: Buffer) => (text += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (text += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  let done = false;
  void exited.then(() => (done = true));
  const run: DevRun = {
    child,
    output: () => text,
    exited,
    async waitFor(pattern, what) {
      const deadline = Date.now() + 240_000;
      for (;;) {
        const match = pattern.exec(text);
        if (match) return match;
        if (done || Date.now() > deadline)
          throw new Error(`pnpm dev: no ${what}${done ? ' (it exited)' : ''}; output:\n${text.slice(-3000)}`);
        await new Promise((r) => setTimeout(r, 200));
      }
    },
  };
  runs.push(run);
  return run;
}

async function poll<T>(what: string, check: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + 240_000;
  for (;;) {
    const value = await check().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

/** Logs in through the form (CSRF token, session cookie); returns where the dashboard sent us. */
async function login(url: string, username: string, password: string): Promise<string | null> {
  const form = await fetch(`${url}/login`);
  const cookie = (form.headers.get('set-cookie') ?? '').split(';')[0]!;
  const csrf = /name="_csrf" value="([^"]+)"/.exec(await form.text())?.[1] ?? '';
  const answer = await fetch(`${url}/login`, {
    method: 'POST',
    redirect: 'manual',
    headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ _csrf: csrf, username, password }).toString(),
  });
  return answer.status === 303 ? answer.headers.get('location') : null;
}

/** Ctrl-C in dev's terminal: SIGINT to its whole process group. */
async function stop(run: DevRun): Promise<void> {
  process.kill(-run.child.pid!, 'SIGINT');
  await run.exited;
}

const portIsFree = (port: number) =>
  new Promise<boolean>((resolve) => {
    const s = net.createServer();
    s.once('error', () => resolve(false));
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });

beforeAll(async () => {
  sandbox = fs.mkdtempSync(path.join(os.tmpdir(), 'dev-test-'));
  fs.chmodSync(sandbox, 0o755); // an embedded PostgreSQL started by dev runs as another user
  fs.mkdirSync(path.join(sandbox, 'tmp'), { mode: 0o755 });
  env = developerEnv(sandbox);
  // The dashboard's usual port, held by "someone else's server" (unless something already holds it).
  if (await portIsFree(3000)) {
    blocker = net.createServer((socket) => socket.end('HTTP/1.1 200 OK\r\n\r\nsomeone else'));
    await new Promise<void>((resolve) => blocker!.listen(3000, '127.0.0.1', resolve));
  }
});

afterAll(async () => {
  // A run a failed test left behind: its whole process group, so that the reset below may proceed.
  for (const run of runs) {
    if (run.child.exitCode === null && run.child.signalCode === null) {
      process.kill(-run.child.pid!, 'SIGINT');
      await Promise.race([run.exited, new Promise((r) => setTimeout(r, 60_000))]);
    }
    try {
      process.kill(-run.child.pid!, 'SIGKILL');
    } catch {
      // the group is gone
    }
  }
  await new Promise((resolve) => (blocker ? blocker.close(resolve) : resolve(undefined)));
  await execa('pnpm', ['-s', 'services', 'reset'], { cwd: REPO, env, reject: false });
  fs.rmSync(sandbox, { recursive: true, force: true });
});

describe('pnpm dev', () => {
  it('stops with one line when a port set for it is taken, before starting anything', async () => {
    const holder = net.createServer();
    await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve));
    const port = (holder.address() as net.AddressInfo).port;
    try {
      const run = startDev({ UPLOAD_API_PORT: String(port) });
      expect(await run.exited).toBe(1);
      expect(run.output()).toContain(`UPLOAD_API_PORT=${port} is taken by another program`);
      expect(run.output()).not.toContain('services:');
    } finally {
      holder.close();
    }
  });

  it('runs the apps on free ports, tells a second terminal its settings, and a second run prints a password that works', async () => {
    const first = startDev();
    const [, url, user, password] = await first.waitFor(
      /dashboard: (http:\/\/\S+)\s+\((\S+) \/ (\S+)\)/,
      'dashboard line',
    );
    await first.waitFor(/another terminal: eval/, 'second-terminal hint');
    expect(url).not.toBe('http://127.0.0.1:3000'); // held by someone else (or by something already)
    expect(
      await poll('the dashboard to log us in', () =>
        login(url!, user!, password!).then((l) => l ?? undefined),
      ),
    ).toBe('/batches');

    // A second terminal: `pnpm services env` knows dev's services, so an ingest there just works.
    const exported = (await execa('pnpm', ['-s', 'services', 'env'], { cwd: REPO, env })).stdout;
    const second: NodeJS.ProcessEnv = { ...env };
    for (const [, key, value] of exported.matchAll(/^export (\w+)='(.*)'$/gm)) second[key!] = value;
    expect(second.S3_ENDPOINT).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(second.DATABASE_URL).toMatch(/\/audio_dev_[0-9a-f]+$/);
    expect(second.UPLOAD_API_TOKEN).toMatch(/^[0-9a-f]{32}$/);
    const archive = path.join(sandbox, 'two.tar');
    await makeManyFileArchive(archive, 2);
    const ingest = await execa('pnpm', ['-s', 'transfer', 'ingest', archive, '--json'], {
      cwd: REPO,
      env: second,
      reject: false,
    });
    expect(ingest.stderr).not.toContain('is required');
    expect(ingest.exitCode).toBe(0);
    const { batchId } = JSON.parse(ingest.stdout.trim().split('\n').at(-1)!) as { batchId: string };
    const db = new pg.Client({ connectionString: second.DATABASE_URL });
    await db.connect();
    try {
      await poll('the batch to complete', async () => {
        const r = await db.query(`SELECT status FROM batches WHERE batch_id = $1`, [batchId]);
        return r.rows[0]?.status === 'complete' ? true : undefined;
      });
    } finally {
      await db.end();
    }

    // Ctrl-C: apps and services stop (dev finishes its clean-up after pnpm itself is gone); only the
    // kept data stays: no state files, no per-run folder, no server still running on the kept data.
    await stop(first);
    const localServices = path.join(sandbox, 'local-services');
    await poll('dev to clean up after Ctrl-C', async () => {
      const left = fs.readdirSync(localServices);
      const runFolders = fs
        .readdirSync(path.join(sandbox, 'tmp'))
        .filter((d) => d.startsWith('audio-pipeline-services-'));
      const servers = await execa('pgrep', ['-f', localServices], { reject: false });
      return left.join() === 'data' && runFolders.length === 0 && servers.stdout === '' ? true : undefined;
    });

    // Second run: same database and objects, and the printed password is the admin's.
    const again = startDev();
    const [, url2, user2, password2] = await again.waitFor(
      /dashboard: (http:\/\/\S+)\s+\((\S+) \/ (\S+)\)/,
      'dashboard line',
    );
    expect([user2, password2]).toEqual([user, password]);
    expect(
      await poll('the dashboard to log us in again', () =>
        login(url2!, user2!, password2!).then((l) => l ?? undefined),
      ),
    ).toBe('/batches');
    await stop(again);
  }, 900_000); // two runs of four apps with reload, on a machine that may be loaded
});
