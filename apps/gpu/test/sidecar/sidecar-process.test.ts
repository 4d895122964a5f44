import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { ConfigError } from '@audio/config';
import {
  DEMO_POLICY_FILE,
  loadPolicy,
  SidecarProcess,
  SidecarRequestError,
  SidecarRetryableError,
  SidecarUnavailableError,
  type LoadedPolicy,
  type SidecarExitEvent,
  type SidecarProcessOptions,
  type SidecarRestartEvent,
} from '../../src/sidecar/index.js';
import { memoryLogger } from './memory-logger.js';
import { TestAudio } from './test-audio.js';

// Every test here runs the real Python sidecar (fixture backend); the fault tests run it through
// faulty_sidecar.py, a test double that injects garbage lines, crashes and hangs on request.
const FAULTY_SIDECAR = fileURLToPath(new URL('./faulty_sidecar.py', import.meta.url));

let audio: TestAudio;
let threat: string;
let calm: string;
let policy: LoadedPolicy;
const started: SidecarProcess[] = [];
let faultDirCount = 0;

beforeAll(async () => {
  audio = await TestAudio.create();
  [threat, calm] = await Promise.all([
    audio.opus('threat', 'we will attack the station at noon'),
    audio.opus('calm', 'the weather is lovely today'),
  ]);
  policy = await loadPolicy(DEMO_POLICY_FILE);
});

afterEach(async () => {
  await Promise.all(started.splice(0).map((s) => s.stop()));
});

afterAll(async () => {
  await audio.remove();
});

function sidecar(options: SidecarProcessOptions = {}) {
  const { logger, lines } = memoryLogger();
  const process_ = new SidecarProcess({ backend: 'fixture', logger, ...options });
  const restarts: SidecarRestartEvent[] = [];
  const exits: SidecarExitEvent[] = [];
  process_.on('restart', (event) => restarts.push(event));
  process_.on('exit', (event) => exits.push(event));
  started.push(process_);
  return { sidecar: process_, restarts, exits, logs: lines };
}

/** A sidecar run through the fault-injecting test double, with its own fault state directory. */
async function faultySidecar(options: SidecarProcessOptions = {}, env: Record<string, string> = {}) {
  const stateDir = audio.path(`faults-${++faultDirCount}`);
  await mkdir(stateDir);
  const made = sidecar({
    args: [FAULTY_SIDECAR],
    restartBackoff: { initialMs: 20, maxMs: 100 },
    env: { ...process.env, FAULT_STATE_DIR: stateDir, ...env },
    ...options,
  });
  return { ...made, stateDir };
}

function items(batch: number, count: number) {
  return Array.from({ length: count }, (_, i) => ({ key: `b${batch}-${i}`, path: calm }));
}

/** Polls until the condition holds; the deadline only catches a hang (a loaded machine is slow, not broken). */
async function waitFor(condition: () => boolean, what: string, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`gave up waiting for ${what} after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('SidecarProcess with the real Python sidecar', () => {
  it('handshakes: start() resolves with the ready message, ping round trips', async () => {
    const { sidecar: s, logs } = sidecar();
    const ready = await s.start();
    expect(ready).toMatchObject({ type: 'ready', backend: 'fixture', device: 'cpu' });
    expect(ready.models).toEqual({ transcribe: 'fixture', classify: 'fixture' });
    expect(ready.modelVersions).toEqual({}); // the fixture loads no model; see test_model_versions.py
    expect(s.state).toBe('ready');
    expect(s.pid).toBe(ready.pid);
    expect(await s.ping()).toBeGreaterThanOrEqual(0);
    // The sidecar's stderr (JSON log lines) is re-logged through pino with its own level; stderr
    // and stdout are separate pipes, so the log line may arrive after the ready message.
    const fromSidecar = () => logs().find((l) => l.msg === 'sidecar ready' && l.logger === 'audio_sidecar');
    await waitFor(() => fromSidecar() !== undefined, "the sidecar's own 'sidecar ready' log line");
    expect(fromSidecar()).toMatchObject({ level: 30, sidecarPid: ready.pid, backend: 'fixture' });
  });

  it('round-trips 1,000 items in batches, flagged by the fixture policy words', async () => {
    const latencies: number[] = [];
    const { sidecar: s, restarts } = sidecar({ onRequestComplete: (ms, n) => latencies.push(n) });
    await s.start();
    const batches = Array.from({ length: 10 }, (_, b) =>
      Array.from({ length: 100 }, (_, i) => ({ key: `b${b}-i${i}`, path: i % 4 === 0 ? threat : calm })),
    );
    const results = await Promise.all(batches.map((items) => s.process(items, policy)));
    const all = results.flat();
    expect(all).toHaveLength(1000);
    expect(all.map((r) => r.key)).toEqual(batches.flat().map((i) => i.key));
    let flagged = 0;
    for (const result of all) {
      if (!result.ok) throw new Error(`item ${result.key} failed: ${result.error.message}`);
      expect(result.classification).toMatchObject({
        policyId: 'violent-threats',
        policyVersion: policy.version,
        policySha256: policy.sha256,
        model: 'fixture',
      });
      expect(result.durationSeconds).toBeGreaterThan(0.5);
      if (result.classification.flagged) flagged++;
    }
    expect(flagged).toBe(250);
    const first = all[0]!;
    expect(first.ok && first.transcript.text).toBe('we will attack the station at noon');
    expect(latencies).toEqual(Array(10).fill(100));
    expect(restarts).toHaveLength(0);
  });

  it('counts as busy while requests are unanswered: back-to-back requests make one busy stretch', async () => {
    const { sidecar: s } = sidecar({ env: { ...process.env, FIXTURE_SECONDS_PER_ITEM: '0.02' } });
    await s.start();
    const events: string[] = [];
    s.on('busy', () => events.push('busy'));
    s.on('idle', () => events.push('idle'));
    expect(s.busyMs).toBe(0);
    const started = performance.now();
    // Three requests of 5 items (0.1 s simulated inference each); two are written ahead.
    await Promise.all([0, 1, 2].map((b) => s.process(items(b, 5), policy)));
    const elapsed = performance.now() - started;
    expect(events).toEqual(['busy', 'idle']);
    expect(s.busyMs).toBeGreaterThanOrEqual(3 * 5 * 20); // the sidecar slept that long, at least
    expect(s.busyMs).toBeLessThanOrEqual(elapsed);
    const busyAfter = s.busyMs;
    expect(await s.ping()).toBeGreaterThanOrEqual(0);
    expect(events).toEqual(['busy', 'idle', 'busy', 'idle']);
    expect(s.busyMs).toBeGreaterThan(busyAfter);
  });

  it('returns per-item failures as results', async () => {
    const junk = audio.path('junk.opus');
    await writeFile(junk, 'not audio');
    const { sidecar: s } = sidecar();
    const [missing, bad, good] = await s.process(
      [
        { key: 'missing', path: audio.path('missing.opus') },
        { key: 'junk', path: junk },
        { key: 'good', path: calm },
      ],
      policy,
    );
    expect(missing).toMatchObject({ key: 'missing', ok: false, error: { code: 'not_found' } });
    expect(bad).toMatchObject({ key: 'junk', ok: false, error: { code: 'decode_error' } });
    expect(good).toMatchObject({ key: 'good', ok: true });
  });

  it('rejects a request the sidecar refuses, without restarting it', async () => {
    const { sidecar: s, restarts } = sidecar();
    const broken = { ...policy, document: { id: policy.id, version: policy.version, sections: [] } };
    const error = await s.process([{ key: 'a', path: calm }], broken).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SidecarRequestError);
    expect((error as SidecarRequestError).code).toBe('bad_policy');
    await expect(s.process([{ key: 'a', path: calm }], policy)).resolves.toHaveLength(1);
    expect(restarts).toHaveLength(0);
  });

  it('keeps stray prints of libraries off the protocol stream', async () => {
    const { sidecar: s, restarts, logs } = await faultySidecar();
    const [result] = await s.process([{ key: '__print__', path: calm }], policy);
    expect(result).toMatchObject({ ok: true });
    expect(restarts).toHaveLength(0);
    const stderr = logs().map((l) => l.msg);
    expect(stderr).toContain('a library printing to stdout');
    expect(stderr).toContain('a C library writing to fd 1');
  });

  it('restarts after a garbage line and retries the request', async () => {
    const { sidecar: s, restarts, exits } = await faultySidecar();
    const results = await s.process(
      [
        { key: 'before', path: threat },
        { key: '__garbage__1', path: calm },
      ],
      policy,
    );
    expect(results.map((r) => r.ok)).toEqual([true, true]);
    expect(restarts).toHaveLength(1);
    expect(restarts[0]!.reason).toContain('garbage line on stdout');
    expect(exits[0]!.signal).toBe('SIGKILL');
  });

  it('retries a request after the sidecar is killed in the middle of it', async () => {
    const { sidecar: s, restarts, stateDir } = await faultySidecar();
    const firstPid = (await s.start()).pid!;
    const pending = s.process([{ key: '__hang__kill-me', path: threat }], policy);
    await waitFor(
      () => existsSync(path.join(stateDir, '__hang__kill-me')),
      'the sidecar to start on the request',
    );
    process.kill(firstPid, 'SIGKILL');
    const [result] = await pending;
    expect(result).toMatchObject({ key: '__hang__kill-me', ok: true });
    expect(restarts).toHaveLength(1);
    expect(restarts[0]!.reason).toContain('killed by SIGKILL');
    expect(s.pid).not.toBe(firstPid);
  });

  it('times out a hung sidecar, kills it, restarts it and retries', async () => {
    // Long enough that a healthy reply on a loaded machine is never taken for a hang.
    const { sidecar: s, restarts, exits } = await faultySidecar({ requestTimeoutMs: 5_000 });
    const [result] = await s.process([{ key: '__hang__timeout', path: calm }], policy);
    expect(result).toMatchObject({ ok: true });
    expect(restarts).toHaveLength(1);
    expect(restarts[0]!.reason).toMatch(/no reply within 5000 ms: the sidecar hangs/);
    expect(exits[0]!.signal).toBe('SIGKILL');
  });

  it('fails a request that crashes the sidecar every time, after a bounded number of tries', async () => {
    const { sidecar: s, restarts } = await faultySidecar({
      maxRequestAttempts: 2,
      maxCrashes: 10,
      maxInFlight: 2,
    });
    await s.start();
    const poison = s.process([{ key: '__crash_always__', path: calm }], policy);
    const innocent = s.process([{ key: 'innocent', path: calm }], policy);
    const error = await poison.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SidecarRetryableError);
    expect((error as Error).message).toMatch(/failed 2 times; last: the sidecar was killed by SIGKILL/);
    // In flight behind the poison request, but not charged for its crashes.
    await expect(innocent).resolves.toMatchObject([{ key: 'innocent', ok: true }]);
    expect(restarts).toHaveLength(2);
  });

  it('gives up on a crash loop with a clear reason instead of spinning', async () => {
    const { sidecar: s, exits } = await faultySidecar({}, { FAULT_EXIT_ON_START: '1' });
    const error = await s.start().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SidecarUnavailableError);
    const message = (error as Error).message;
    expect(message).toContain('the sidecar failed 5 times within 180 s');
    expect(message).toContain('exited with code 3 before it was ready');
    expect(message).toContain('simulated startup crash: cannot load models');
    expect(exits).toHaveLength(5);
    expect(s.state).toBe('unavailable');
    await expect(s.process([{ key: 'a', path: calm }], policy)).rejects.toBeInstanceOf(
      SidecarUnavailableError,
    );
  });

  it('does not restart a sidecar whose configuration is wrong (missing model directories)', async () => {
    const emptyModels = audio.path('no-models');
    await mkdir(emptyModels);
    const { sidecar: s, exits, restarts } = sidecar({ backend: 'whisperx-cope', modelsRoot: emptyModels });
    const error = await s.start().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SidecarUnavailableError);
    const message = (error as Error).message;
    expect(message).toContain('configuration error (exit code 78)');
    expect(message).toContain(`${emptyModels}/whisperx (WHISPERX_MODEL_DIR)`);
    expect(exits).toHaveLength(1);
    expect(restarts).toHaveLength(0);
  });

  it('gives up when the interpreter cannot be run at all', async () => {
    const { sidecar: s } = sidecar({
      command: '/nonexistent/python3',
      restartBackoff: { initialMs: 5, maxMs: 5 },
    });
    await expect(s.start()).rejects.toThrow(/cannot run \/nonexistent\/python3/);
  });

  it('stops by closing stdin: the sidecar exits on its own', async () => {
    const { sidecar: s, exits } = sidecar();
    await s.start();
    await s.stop();
    expect(exits).toEqual([expect.objectContaining({ code: 0, signal: null })]);
    expect(s.state).toBe('stopped');
    await expect(s.ping()).rejects.toBeInstanceOf(SidecarRetryableError);
  });

  it('stops a sidecar that ignores stdin and SIGTERM with SIGKILL, failing its request as retryable', async () => {
    const {
      sidecar: s,
      exits,
      stateDir,
    } = await faultySidecar({ shutdownGraceMs: 300 }, { FAULT_IGNORE_SIGTERM: '1' });
    await s.start();
    const pending = s.process([{ key: '__hang__stop', path: calm }], policy).catch((e: unknown) => e);
    await waitFor(() => existsSync(path.join(stateDir, '__hang__stop')), 'the sidecar to hang');
    await s.stop();
    expect(exits).toEqual([expect.objectContaining({ signal: 'SIGKILL' })]);
    expect(await pending).toBeInstanceOf(SidecarRetryableError);
  });
});

describe('SidecarProcess.fromEnv', () => {
  it('reads its settings from the environment', async () => {
    const s = SidecarProcess.fromEnv(
      { ...process.env, SIDECAR_BACKEND: 'fixture', SIDECAR_READY_TIMEOUT: '30s' },
      { logger: memoryLogger().logger },
    );
    started.push(s);
    expect((await s.start()).backend).toBe('fixture');
  });

  it('names a bad variable', () => {
    expect(() => SidecarProcess.fromEnv({ SIDECAR_BACKEND: 'gpt' })).toThrow(ConfigError);
    expect(() => SidecarProcess.fromEnv({ SIDECAR_REQUEST_TIMEOUT: 'soon' })).toThrow(
      /SIDECAR_REQUEST_TIMEOUT/,
    );
  });
});
