import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { createLogger, type Logger } from '@audio/logger';
import { CrashHistory } from './crash-history.js';
import { SidecarRequestError, SidecarRetryableError, SidecarUnavailableError } from './errors.js';
import {
  sidecarMessageSchema,
  type PolicyRef,
  type ClassifiedItem,
  type ReadyInfo,
  type SidecarItem,
  type SidecarTextItem,
  type SidecarMessage,
  type SidecarRequest,
  type SidecarResultItem,
} from './protocol.js';
import {
  defaultSidecarPython,
  DEFAULTS,
  readSidecarEnv,
  SIDECAR_DIR,
  type SidecarBackend,
} from './sidecar-config.js';
import { StderrTail } from './stderr-tail.js';

export interface SidecarProcessOptions {
  /** The Python interpreter; default: the project's venv (apps/gpu/sidecar/.venv) if made, else `python3`. */
  command?: string;
  /** Default `['-m', 'audio_sidecar']`. */
  args?: string[];
  /** Default apps/gpu/sidecar (which is also put on PYTHONPATH). */
  cwd?: string;
  /** The child's environment; default `process.env`. */
  env?: Record<string, string | undefined>;
  /** Sets SIDECAR_BACKEND for the child. */
  backend?: SidecarBackend;
  /** Sets MODELS_ROOT for the child. */
  modelsRoot?: string;
  /** How long model loading may take before the process counts as hung (default 300 s). */
  readyTimeoutMs?: number;
  /** How long one request may take once the sidecar works on it (default 10 min). */
  requestTimeoutMs?: number;
  /** Tries per request before it fails with SidecarRetryableError (default 3). */
  maxRequestAttempts?: number;
  /** Give up after this many failures (crash, hang, garbage) within `crashWindowMs` (5 in 3 min). */
  maxCrashes?: number;
  crashWindowMs?: number;
  /** Wait before restart number n: initialMs × 2^(n-1), at most maxMs (default 1 s .. 30 s). */
  restartBackoff?: { initialMs: number; maxMs: number };
  /** On stop(): wait this long after closing stdin, and again after SIGTERM (default 10 s). */
  shutdownGraceMs?: number;
  /** Requests written ahead to the sidecar's stdin, so it never waits on Node (default 2). */
  maxInFlight?: number;
  logger?: Logger;
  /** Called when a `process` request resolves: time since the call, in ms, and its item count. */
  onRequestComplete?: (durationMs: number, itemCount: number) => void;
}

export type SidecarState =
  'idle' | 'starting' | 'ready' | 'restarting' | 'stopping' | 'stopped' | 'unavailable';

export interface SidecarRestartEvent {
  reason: string;
  delayMs: number;
  /** Failures in the current crash window, this one included. */
  crashes: number;
}

export interface SidecarExitEvent {
  pid: number | undefined;
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface SidecarProcessEvents {
  ready: [ReadyInfo];
  /** A request was written with none unanswered: the sidecar works from now on. */
  busy: [];
  /** The last unanswered request was answered (or the process went away). */
  idle: [];
  restart: [SidecarRestartEvent];
  exit: [SidecarExitEvent];
  unavailable: [SidecarUnavailableError];
}

/** Exit code of a sidecar that found its configuration wrong: restarting would not help. */
const EXIT_CONFIG = 78;

interface PendingRequest {
  op: 'process' | 'classify' | 'ping';
  items: SidecarItem[] | SidecarTextItem[];
  policy?: PolicyRef;
  /** The id of the current attempt; each attempt gets a fresh one. */
  id?: string;
  /** Times the sidecar failed while working on this request. */
  attempts: number;
  enqueuedAt: number;
  resolve: (value: unknown) => void;
  reject: (error: Error) => void;
}

interface Child {
  process: ChildProcessWithoutNullStreams;
  ready: boolean;
  gone: boolean;
  /** Set when we killed it for misbehaving; the exit handler reports this instead of the signal. */
  failureReason?: string;
  readyTimer?: NodeJS.Timeout;
  exited: Promise<void>;
  markExited: () => void;
}

/**
 * A long-lived Python sidecar (apps/gpu/sidecar) fed with batches over stdin/stdout.
 *
 * Requests are written in order and the sidecar answers them in order, so only the oldest request
 * in flight is being worked on: its timeout runs from when it reaches the head, and when the
 * process dies, hangs or writes garbage, it alone is charged an attempt. Every request in flight
 * is re-sent after the restart (up to `maxRequestAttempts`). Too many failures within the crash
 * window, or a configuration error at startup, end in `SidecarUnavailableError` for every call
 * rather than a restart loop; `start()` tries afresh.
 */
export class SidecarProcess extends EventEmitter<SidecarProcessEvents> {
  private readonly options: Required<
    Omit<SidecarProcessOptions, 'backend' | 'modelsRoot' | 'logger' | 'onRequestComplete' | 'env'>
  >;
  private readonly childEnv: Record<string, string | undefined>;
  private readonly logger: Logger;
  private readonly crashes: CrashHistory;
  private readonly stderr: StderrTail;
  private currentState: SidecarState = 'idle';
  private child: Child | undefined;
  private readyInfo: ReadyInfo | undefined;
  private readyWaiters: { resolve: (info: ReadyInfo) => void; reject: (error: Error) => void }[] = [];
  private waiting: PendingRequest[] = [];
  private inFlight: PendingRequest[] = [];
  private requestTimer: NodeJS.Timeout | undefined;
  private restartTimer: NodeJS.Timeout | undefined;
  private unavailableError: SidecarUnavailableError | undefined;
  private stopping: Promise<void> | undefined;
  private requestCounter = 0;
  private busySince: number | undefined;
  private busyTotalMs = 0;

  constructor(private readonly settings: SidecarProcessOptions = {}) {
    super();
    this.options = {
      command: settings.command ?? defaultSidecarPython(),
      args: settings.args ?? [...DEFAULTS.args],
      cwd: settings.cwd ?? SIDECAR_DIR,
      readyTimeoutMs: settings.readyTimeoutMs ?? DEFAULTS.readyTimeoutMs,
      requestTimeoutMs: settings.requestTimeoutMs ?? DEFAULTS.requestTimeoutMs,
      maxRequestAttempts: settings.maxRequestAttempts ?? DEFAULTS.maxRequestAttempts,
      maxCrashes: settings.maxCrashes ?? DEFAULTS.maxCrashes,
      crashWindowMs: settings.crashWindowMs ?? DEFAULTS.crashWindowMs,
      restartBackoff: settings.restartBackoff ?? DEFAULTS.restartBackoff,
      shutdownGraceMs: settings.shutdownGraceMs ?? DEFAULTS.shutdownGraceMs,
      maxInFlight: Math.max(1, settings.maxInFlight ?? DEFAULTS.maxInFlight),
    };
    const base = settings.env ?? process.env;
    this.childEnv = {
      ...base,
      PYTHONPATH: [SIDECAR_DIR, base.PYTHONPATH].filter(Boolean).join(':'),
      PYTHONUNBUFFERED: '1',
      ...(settings.backend ? { SIDECAR_BACKEND: settings.backend } : {}),
      ...(settings.modelsRoot ? { MODELS_ROOT: settings.modelsRoot } : {}),
    };
    this.logger = settings.logger ?? createLogger({ name: 'gpu.sidecar' });
    this.crashes = new CrashHistory(
      this.options.maxCrashes,
      this.options.crashWindowMs,
      this.options.restartBackoff,
    );
    this.stderr = new StderrTail(this.logger);
  }

  /**
   * From SIDECAR_PYTHON, SIDECAR_BACKEND, MODELS_ROOT, SIDECAR_READY_TIMEOUT, SIDECAR_REQUEST_TIMEOUT
   * and SIDECAR_MAX_CRASHES; `options` adds the rest (logger, hooks).
   */
  static fromEnv(
    env: Record<string, string | undefined> = process.env,
    options: Omit<SidecarProcessOptions, 'env'> = {},
  ): SidecarProcess {
    const config = readSidecarEnv(env);
    return new SidecarProcess({
      command: config.SIDECAR_PYTHON,
      backend: config.SIDECAR_BACKEND,
      modelsRoot: config.MODELS_ROOT,
      readyTimeoutMs: config.SIDECAR_READY_TIMEOUT,
      requestTimeoutMs: config.SIDECAR_REQUEST_TIMEOUT,
      maxCrashes: config.SIDECAR_MAX_CRASHES,
      ...options,
      env,
    });
  }

  get state(): SidecarState {
    return this.currentState;
  }

  /** The running sidecar's process id, if one is running. */
  get pid(): number | undefined {
    return this.child?.gone ? undefined : this.child?.process.pid;
  }

  /**
   * How long, in all, the sidecar has had a request to work on (one unanswered request or more):
   * the GPU's busy time, from which `pnpm bench:gpu` computes the duty cycle.
   */
  get busyMs(): number {
    return this.busyTotalMs + (this.busySince === undefined ? 0 : performance.now() - this.busySince);
  }

  /** The last ready message: backend, models, device. */
  get info(): ReadyInfo | undefined {
    return this.readyInfo;
  }

  /** Spawns the sidecar (if it isn't running) and resolves with its ready message. */
  start(): Promise<ReadyInfo> {
    switch (this.currentState) {
      case 'ready':
        return Promise.resolve(this.readyInfo!);
      case 'starting':
      case 'restarting':
        return this.waitForReady();
      case 'stopping':
        return Promise.reject(new SidecarRetryableError('the sidecar is stopping'));
      default: // idle, stopped, unavailable: a fresh start
        this.crashes.reset();
        this.unavailableError = undefined;
        this.stopping = undefined;
        this.currentState = 'starting';
        this.spawnChild();
        return this.waitForReady();
    }
  }

  /**
   * Transcribes and classifies a batch; resolves with one result per item, in the items' order.
   * Per-item failures are results with `ok: false`. Rejects with SidecarRetryableError when the
   * request failed `maxRequestAttempts` times, SidecarUnavailableError once the sidecar gave up,
   * SidecarRequestError when the sidecar refused the request (e.g. an invalid policy).
   */
  process(items: SidecarItem[], policy: PolicyRef): Promise<SidecarResultItem[]> {
    return this.batch('process', items, policy) as Promise<SidecarResultItem[]>;
  }

  /**
   * Classifies stored transcripts under a policy (re-classification: no audio, no Whisper); one result
   * per item, in order. Fails like `process`; a backend that cannot classify text refuses with
   * SidecarRequestError `unsupported_op`.
   */
  classify(items: SidecarTextItem[], policy: PolicyRef): Promise<ClassifiedItem[]> {
    return this.batch('classify', items, policy) as Promise<ClassifiedItem[]>;
  }

  private batch(
    op: 'process' | 'classify',
    items: SidecarItem[] | SidecarTextItem[],
    policy: PolicyRef,
  ): Promise<unknown> {
    const keys = new Set<string>();
    for (const item of items) {
      if (keys.has(item.key)) return Promise.reject(new TypeError(`item key "${item.key}" appears twice`));
      keys.add(item.key);
    }
    if (items.length === 0) return Promise.resolve([]);
    return this.enqueue(op, items, policy);
  }

  /** A round trip through the sidecar's request loop; resolves with its duration in ms. */
  async ping(): Promise<number> {
    const started = performance.now();
    await this.enqueue('ping', []);
    return performance.now() - started;
  }

  /**
   * Closes stdin (the sidecar answers what it has read, then exits), waits `shutdownGraceMs`,
   * then SIGTERM, waits again, then SIGKILL. Requests not answered by then reject as retryable.
   */
  stop(): Promise<void> {
    if (this.currentState === 'idle' || this.currentState === 'stopped') {
      this.currentState = 'stopped';
      return Promise.resolve();
    }
    this.stopping ??= this.shutDown();
    return this.stopping;
  }

  // Requests ----------------------------------------------------------------------------------

  private enqueue(
    op: PendingRequest['op'],
    items: PendingRequest['items'],
    policy?: PolicyRef,
  ): Promise<unknown> {
    if (this.currentState === 'unavailable') return Promise.reject(this.unavailableError!);
    if (this.currentState === 'stopping' || this.currentState === 'stopped') {
      return Promise.reject(new SidecarRetryableError('the sidecar is stopped'));
    }
    const promise = new Promise((resolve, reject) => {
      this.waiting.push({ op, items, policy, attempts: 0, enqueuedAt: performance.now(), resolve, reject });
    });
    if (this.currentState === 'idle') {
      this.start().catch(() => undefined); // the request itself rejects if starting fails
    } else {
      this.pump();
    }
    return promise;
  }

  /** Writes waiting requests to the sidecar, up to `maxInFlight` unanswered at a time. */
  private pump(): void {
    const child = this.child;
    if (this.currentState !== 'ready' || !child || child.gone || child.failureReason) return;
    while (this.waiting.length > 0 && this.inFlight.length < this.options.maxInFlight) {
      const request = this.waiting.shift()!;
      request.id = `r${++this.requestCounter}`;
      const wire: SidecarRequest =
        request.op === 'ping'
          ? { id: request.id, op: 'ping' }
          : request.op === 'process'
            ? {
                id: request.id,
                op: 'process',
                items: request.items as SidecarItem[],
                policy: wirePolicy(request.policy!),
              }
            : {
                id: request.id,
                op: 'classify',
                items: request.items as SidecarTextItem[],
                policy: wirePolicy(request.policy!),
              };
      this.inFlight.push(request);
      child.process.stdin.write(`${JSON.stringify(wire)}\n`);
      if (this.inFlight.length === 1) {
        this.armRequestTimer(child);
        this.markBusy(true);
      }
    }
  }

  /** The timeout of the request the sidecar is working on: the oldest one in flight. */
  private armRequestTimer(child: Child): void {
    clearTimeout(this.requestTimer);
    this.requestTimer = undefined;
    const head = this.inFlight[0];
    if (!head) return;
    const timeoutMs = this.options.requestTimeoutMs;
    this.requestTimer = setTimeout(() => {
      const what = head.op === 'ping' ? 'ping' : `${head.op} request of ${head.items.length} items`;
      this.failChild(child, `${what} (${head.id}) got no reply within ${timeoutMs} ms: the sidecar hangs`);
    }, timeoutMs);
  }

  private settle(child: Child, message: Exclude<SidecarMessage, { type: 'ready' }>): void {
    if (message.type === 'error' && message.id === undefined) {
      // We never send a line without an id, so this is the sidecar's own confusion: note it.
      this.logger.warn({ error: message.error }, 'sidecar reported an error without a request id');
      return;
    }
    const index = this.inFlight.findIndex((r) => r.id === String(message.id));
    const request = this.inFlight[index];
    if (!request) {
      this.failChild(child, `reply to unknown request id ${JSON.stringify(message.id)}`);
      return;
    }
    let value: unknown;
    if (message.type === 'error') {
      value = new SidecarRequestError(message.error.code, message.error.message);
    } else if (request.op === 'ping' && message.type === 'pong') {
      value = undefined;
    } else if (
      (request.op === 'process' && message.type === 'result') ||
      (request.op === 'classify' && message.type === 'classified')
    ) {
      value = orderResults(request.items, message.items);
      if (value === undefined) {
        this.failChild(child, `result for ${request.id} does not hold exactly one item per requested key`);
        return;
      }
    } else {
      this.failChild(child, `a ${message.type} reply to a ${request.op} request`);
      return;
    }
    this.inFlight.splice(index, 1);
    if (index === 0) this.armRequestTimer(child);
    if (this.inFlight.length === 0) this.markBusy(false);
    if (value instanceof Error) {
      request.reject(value);
    } else {
      request.resolve(value);
      if (request.op === 'process') this.reportLatency(request);
    }
    this.pump();
  }

  private markBusy(busy: boolean): void {
    if (busy === (this.busySince !== undefined)) return;
    if (busy) {
      this.busySince = performance.now();
      this.emit('busy');
    } else {
      this.busyTotalMs += performance.now() - this.busySince!;
      this.busySince = undefined;
      this.emit('idle');
    }
  }

  private reportLatency(request: PendingRequest): void {
    try {
      this.settings.onRequestComplete?.(performance.now() - request.enqueuedAt, request.items.length);
    } catch (error) {
      this.logger.warn({ err: error }, 'onRequestComplete hook threw');
    }
  }

  // The child process ---------------------------------------------------------------------------

  private spawnChild(): void {
    let markExited!: () => void;
    const exited = new Promise<void>((resolve) => (markExited = resolve));
    // node:child_process rather than execa: this is a long-lived duplex pipe we supervise ourselves.
    const proc = spawn(this.options.command, this.options.args, {
      cwd: this.options.cwd,
      env: this.childEnv,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const child: Child = { process: proc, ready: false, gone: false, exited, markExited };
    this.child = child;
    this.logger.info(
      { pid: proc.pid, command: this.options.command, backend: this.childEnv.SIDECAR_BACKEND },
      'sidecar starting',
    );
    proc.stdin.on('error', (error) => {
      // EPIPE when the process died with requests unwritten; its exit is handled on 'close'.
      this.logger.debug({ err: error }, 'sidecar stdin error');
    });
    createInterface({ input: proc.stdout, crlfDelay: Infinity }).on('line', (line) =>
      this.onLine(child, line),
    );
    createInterface({ input: proc.stderr, crlfDelay: Infinity }).on('line', (line) =>
      this.stderr.push(line, proc.pid),
    );
    proc.on('error', (error) => {
      if (proc.pid === undefined)
        this.onChildGone(child, null, null, `cannot run ${this.options.command}: ${error.message}`);
    });
    proc.on('close', (code, signal) => this.onChildGone(child, code, signal));
    child.readyTimer = setTimeout(
      () => this.failChild(child, `no ready message within ${this.options.readyTimeoutMs} ms`),
      this.options.readyTimeoutMs,
    );
  }

  private onLine(child: Child, line: string): void {
    if (child !== this.child || child.gone || child.failureReason) return; // a dying process
    if (line.trim() === '') return;
    let message: SidecarMessage;
    try {
      message = sidecarMessageSchema.parse(JSON.parse(line));
    } catch {
      this.failChild(child, `garbage line on stdout: ${JSON.stringify(line.slice(0, 200))}`);
      return;
    }
    if (message.type !== 'ready') {
      this.settle(child, message);
      return;
    }
    if (child.ready) {
      this.failChild(child, 'a second ready message');
      return;
    }
    child.ready = true;
    clearTimeout(child.readyTimer);
    this.readyInfo = message;
    this.logger.info({ pid: child.process.pid, ...message }, 'sidecar ready');
    if (this.currentState === 'starting' || this.currentState === 'restarting') this.currentState = 'ready';
    this.emit('ready', message);
    for (const waiter of this.readyWaiters.splice(0)) waiter.resolve(message);
    this.pump();
  }

  /** Kills a sidecar that misbehaved; the exit handler then restarts it (or gives up). */
  private failChild(child: Child, reason: string): void {
    if (child.gone || child.failureReason) return;
    child.failureReason = reason;
    this.logger.warn({ pid: child.process.pid, reason }, 'killing the sidecar');
    child.process.kill('SIGKILL');
  }

  private onChildGone(
    child: Child,
    code: number | null,
    signal: NodeJS.Signals | null,
    error?: string,
  ): void {
    if (child.gone) return;
    child.gone = true;
    clearTimeout(child.readyTimer);
    child.markExited();
    this.emit('exit', { pid: child.process.pid, code, signal });
    if (child !== this.child) return;
    clearTimeout(this.requestTimer);
    this.requestTimer = undefined;
    if (this.currentState === 'stopping') return; // shutDown() settles what is left
    const reason = child.failureReason ?? error ?? describeExit(code, signal, child.ready);
    this.afterFailure(reason, code === EXIT_CONFIG && !child.ready);
  }

  private afterFailure(reason: string, configError: boolean): void {
    const crashes = this.crashes.record();
    // The sidecar answers in order, so the oldest request in flight is the one it was working on.
    const interrupted = this.inFlight.splice(0);
    this.markBusy(false);
    const retry: PendingRequest[] = [];
    interrupted.forEach((request, index) => {
      if (index === 0) request.attempts += 1;
      if (request.attempts >= this.options.maxRequestAttempts) {
        request.reject(
          new SidecarRetryableError(`sidecar request failed ${request.attempts} times; last: ${reason}`),
        );
      } else {
        retry.push(request);
      }
    });
    this.waiting.unshift(...retry);
    if (configError) {
      this.becomeUnavailable(`the sidecar exited with a configuration error (exit code ${EXIT_CONFIG})`);
      return;
    }
    if (crashes >= this.options.maxCrashes) {
      const windowS = Math.round(this.options.crashWindowMs / 1000);
      this.becomeUnavailable(`the sidecar failed ${crashes} times within ${windowS} s; last: ${reason}`);
      return;
    }
    const delayMs = this.crashes.nextDelayMs();
    this.currentState = 'restarting';
    this.logger.warn({ reason, delayMs, crashes }, 'sidecar failed; restarting');
    this.emit('restart', { reason, delayMs, crashes });
    this.restartTimer = setTimeout(() => {
      this.restartTimer = undefined;
      if (this.currentState === 'restarting') this.spawnChild();
    }, delayMs);
  }

  private becomeUnavailable(reason: string): void {
    const tail = this.stderr.summary(10);
    const error = new SidecarUnavailableError(
      `sidecar unavailable: ${reason}${tail.length > 0 ? `\nlast stderr lines:\n  ${tail.join('\n  ')}` : ''}`,
      this.stderr.tail,
    );
    this.currentState = 'unavailable';
    this.unavailableError = error;
    this.child = undefined;
    for (const request of [...this.inFlight.splice(0), ...this.waiting.splice(0)]) request.reject(error);
    this.markBusy(false);
    for (const waiter of this.readyWaiters.splice(0)) waiter.reject(error);
    this.logger.error({ reason }, 'sidecar unavailable');
    this.emit('unavailable', error);
  }

  private waitForReady(): Promise<ReadyInfo> {
    return new Promise((resolve, reject) => this.readyWaiters.push({ resolve, reject }));
  }

  private async shutDown(): Promise<void> {
    this.currentState = 'stopping';
    clearTimeout(this.restartTimer);
    this.restartTimer = undefined;
    const stopped = () => new SidecarRetryableError('the sidecar stopped before answering');
    for (const request of this.waiting.splice(0)) request.reject(stopped());
    for (const waiter of this.readyWaiters.splice(0)) waiter.reject(stopped());
    const child = this.child;
    if (child && !child.gone) {
      const grace = this.options.shutdownGraceMs;
      child.process.stdin.end();
      if (!(await settlesWithin(child.exited, grace))) {
        this.logger.warn({ pid: child.process.pid }, 'sidecar still running after stdin closed; SIGTERM');
        child.process.kill('SIGTERM');
        if (!(await settlesWithin(child.exited, grace))) {
          this.logger.warn({ pid: child.process.pid }, 'sidecar ignored SIGTERM; SIGKILL');
          child.process.kill('SIGKILL');
          await child.exited;
        }
      }
    }
    clearTimeout(this.requestTimer);
    this.requestTimer = undefined;
    for (const request of this.inFlight.splice(0)) request.reject(stopped());
    this.markBusy(false);
    this.child = undefined;
    this.currentState = 'stopped';
  }
}

/** The results in the request's order, or undefined unless there is exactly one per key. */
function orderResults<R extends { key: string }>(items: { key: string }[], results: R[]): R[] | undefined {
  if (results.length !== items.length) return undefined;
  const byKey = new Map(results.map((r) => [r.key, r]));
  const ordered = items.map((item) => byKey.get(item.key));
  return ordered.every((r) => r !== undefined) ? (ordered as R[]) : undefined;
}

function describeExit(code: number | null, signal: NodeJS.Signals | null, ready: boolean): string {
  const how = signal ? `was killed by ${signal}` : `exited with code ${code}`;
  return `the sidecar ${how} ${ready ? 'while running' : 'before it was ready'}`;
}

async function settlesWithin(promise: Promise<void>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), ms)));
  const result = await Promise.race([promise.then(() => true as const), timeout]);
  clearTimeout(timer);
  return result;
}

/** What the sidecar needs of a policy; a loaded policy's other fields (its text) stay here. */
function wirePolicy({ id, version, sha256, document }: PolicyRef): PolicyRef {
  return { id, version, sha256, document };
}
