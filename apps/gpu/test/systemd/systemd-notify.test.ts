import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { systemdNotifier } from '../../src/systemd-notify.js';

const here = dirname(fileURLToPath(import.meta.url));
const repo = resolve(here, '../../../..');
const launcher = join(repo, 'infra/release/sd-notify-exec');

/** The python receiver, standing in for systemd: resolves once it has bound the socket. */
async function startReceiver(name: string) {
  const child = spawn('python3', [join(here, 'notify_receiver.py'), name], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const received: { pid: number | null; message: string }[] = [];
  const waiters: (() => void)[] = [];
  const lines = createInterface({ input: child.stdout });
  await new Promise<void>((resolveListening, reject) => {
    child.once('exit', (code) => reject(new Error(`receiver exited ${code}`)));
    lines.on('line', (line) => {
      if (line === 'listening') return resolveListening();
      received.push(JSON.parse(line) as { pid: number | null; message: string });
      waiters.splice(0).forEach((wake) => wake());
    });
  });
  return {
    child,
    received,
    /** Waits (no deadline of its own: jest's timeout catches a hang) until `count` datagrams came. */
    async until(count: number) {
      while (received.length < count) await new Promise<void>((wake) => waiters.push(wake));
    },
  };
}

/** The child as bin/audio-pipeline starts the gpu app: python3 sd-notify-exec node … */
function runChild(notifySocket: string): {
  child: ChildProcess;
  output: Promise<{ code: number | null; stdout: string }>;
} {
  const child = spawn(
    'python3',
    [launcher, process.execPath, '--import', 'tsx', join(here, 'notify-child.ts')],
    {
      env: { ...process.env, NOTIFY_SOCKET: notifySocket, NODE_OPTIONS: '' },
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  let stdout = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  const output = new Promise<{ code: number | null; stdout: string }>((done) =>
    child.once('exit', (code) => done({ code, stdout })),
  );
  return { child, output };
}

describe('systemdNotifier', () => {
  let dir: string;
  const receivers: ChildProcess[] = [];
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'sd-notify-'));
  });
  afterEach(() => {
    receivers.splice(0).forEach((child) => child.kill());
    rmSync(dir, { recursive: true, force: true });
  });

  it('does nothing without NOTIFY_SOCKET', () => {
    const notifier = systemdNotifier({});
    expect(notifier.active).toBe(false);
    expect(() => {
      notifier.status('x');
      notifier.ready();
      notifier.stopping();
    }).not.toThrow();
  });

  it('logs and stays inactive when NOTIFY_SOCKET came without the launcher', () => {
    const errors: unknown[] = [];
    const env: Record<string, string | undefined> = { NOTIFY_SOCKET: '/run/systemd/notify' };
    const notifier = systemdNotifier(env, {
      warn: () => undefined,
      error: (...args: unknown[]) => errors.push(args),
    } as never);
    expect(notifier.active).toBe(false);
    expect(errors).toHaveLength(1);
    expect(env.NOTIFY_SOCKET).toBeUndefined();
  });

  it.each([
    ['a socket path', (d: string) => join(d, 'notify')],
    ['an abstract socket', () => `@audio-sd-notify-test-${process.pid}-${Date.now()}`],
  ])(
    "sends STATUS, READY=1 and STOPPING=1 from the exec'd main PID through %s",
    async (_label, socketName) => {
      const name = socketName(dir);
      const receiver = await startReceiver(name);
      receivers.push(receiver.child);
      const { child, output } = runChild(name);
      const { code, stdout } = await output;
      expect(code).toBe(0);
      // The child no longer offers the variables to its own children (the sidecar).
      expect(JSON.parse(stdout)).toEqual({ active: true, inherited: [null, null] });
      await receiver.until(3);
      expect(receiver.received).toEqual([
        { pid: child.pid, message: 'STATUS=starting: loading models' },
        { pid: child.pid, message: 'READY=1\nSTATUS=ready: sidecar fake' },
        { pid: child.pid, message: 'STOPPING=1' },
      ]);
    },
  );
});
