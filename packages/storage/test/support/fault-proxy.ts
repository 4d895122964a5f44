// An HTTP proxy between an S3 client and a real S3 server that injects faults: error statuses (503
// SlowDown, 500), connections reset before an answer, responses cut off mid-body, slow responses.
// It forwards the Host header untouched, so SigV4 signatures stay valid, and records every request
// (method, path, query, part number, status, bytes, fault) for assertions such as "which parts were sent".
import { EventEmitter } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export type Fault =
  /** Answer with an S3 error document without forwarding, e.g. 503 SlowDown or 500 InternalError. */
  | { kind: 'status'; status: number; code: string }
  /** Drop the connection without an answer, before anything reaches the server. */
  | { kind: 'reset' }
  /** Forward, then close the connection after `afterBytes` bytes of the response body. */
  | { kind: 'cut-response'; afterBytes: number }
  /** Forward, hold the response `delayMs`, then (optionally) trickle its body at `bytesPerSecond`. */
  | { kind: 'slow-response'; delayMs: number; bytesPerSecond?: number };

export interface ProxiedRequest {
  id: number;
  method: string;
  path: string;
  query: URLSearchParams;
  headers: http.IncomingHttpHeaders;
  /** Set for UploadPart requests. */
  partNumber?: number;
  uploadId?: string;
  fault?: Fault['kind'];
  /** Status the client was sent (or would have been: set when the server answered). */
  status?: number;
  bytesIn: number;
  bytesOut: number;
  /** The server's response (or the injected one) is complete; 'response' was emitted. */
  completed: boolean;
  /** Nothing more will happen to this request: completed, reset, or given up. */
  settled: boolean;
}

export interface FaultRule {
  /** Requests the rule applies to; all when absent. */
  match?: (request: ProxiedRequest) => boolean;
  /** Chance per matching request, 0..1; default 1. */
  probability?: number;
  /** Fires on every Nth matching request instead (exactly 1/N of them, e.g. 5 for 20%), its faults in turn. */
  every?: number;
  /** Fires at most this many times; unlimited when absent. */
  times?: number;
  /** One is picked at random each time the rule fires (in turn with `every`). */
  faults: Fault[];
}

export interface FaultProxyOptions {
  /** The real server, e.g. process.env.S3_ENDPOINT. */
  target: string;
  rules?: FaultRule[];
  /** Seed of the random choices, for reproducible runs. */
  seed?: number;
}

export function isUploadPart(request: ProxiedRequest): boolean {
  return request.method === 'PUT' && request.partNumber !== undefined && request.uploadId !== undefined;
}

/** The common mix for "N% of requests fail": throttling, server errors, resets, cut and slow responses. */
export function standardFaults(): Fault[] {
  return [
    { kind: 'status', status: 503, code: 'SlowDown' },
    { kind: 'status', status: 500, code: 'InternalError' },
    { kind: 'reset' },
    { kind: 'cut-response', afterBytes: 64 * 1024 },
    { kind: 'slow-response', delayMs: 150 },
  ];
}

export class FaultProxy extends EventEmitter<{ response: [ProxiedRequest] }> {
  readonly requests: ProxiedRequest[] = [];
  private rules: { rule: FaultRule; fired: number; seen: number }[] = [];
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly server: http.Server;
  private readonly agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
  private readonly targetUrl: URL;
  private random: () => number;
  private nextId = 1;

  private constructor(options: FaultProxyOptions) {
    super();
    this.targetUrl = new URL(options.target);
    this.random = mulberry32(options.seed ?? 1);
    this.setRules(options.rules ?? []);
    this.server = http.createServer((req, res) => this.handle(req, res));
    this.server.keepAliveTimeout = 30_000;
  }

  static async start(options: FaultProxyOptions): Promise<FaultProxy> {
    const proxy = new FaultProxy(options);
    await new Promise<void>((resolve, reject) => {
      proxy.server.once('error', reject);
      proxy.server.listen(0, '127.0.0.1', () => resolve());
    });
    return proxy;
  }

  get url(): string {
    const { port } = this.server.address() as AddressInfo;
    return `http://127.0.0.1:${port}`;
  }

  setRules(rules: FaultRule[], seed?: number): void {
    this.rules = rules.map((rule) => ({ rule, fired: 0, seen: 0 }));
    if (seed !== undefined) this.random = mulberry32(seed);
  }

  /** Forgets the recorded requests (rules and their counts stay). */
  clearLog(): void {
    this.requests.length = 0;
  }

  /** Requests that met a fault. */
  faulted(): ProxiedRequest[] {
    return this.requests.filter((r) => r.fault !== undefined);
  }

  /**
   * Resolves once every request so far is settled, e.g. after killing a client: a part whose body had
   * fully arrived is still stored by the server, and its answer shows up here a moment later.
   */
  async idle(timeoutMs = 120_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!this.requests.every((r) => r.settled)) {
      if (Date.now() > deadline)
        throw new Error(`fault proxy: requests still in flight after ${timeoutMs} ms`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  async close(): Promise<void> {
    for (const timer of this.timers) clearTimeout(timer);
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.agent.destroy();
  }

  private chooseFault(record: ProxiedRequest): Fault | undefined {
    for (const entry of this.rules) {
      const { rule } = entry;
      if (rule.match && !rule.match(record)) continue;
      if (rule.times !== undefined && entry.fired >= rule.times) continue;
      entry.seen += 1;
      if (rule.every !== undefined ? entry.seen % rule.every !== 0 : this.random() >= (rule.probability ?? 1))
        continue;
      entry.fired += 1;
      const index =
        rule.every !== undefined ? entry.fired - 1 : Math.floor(this.random() * rule.faults.length);
      return rule.faults[index % rule.faults.length];
    }
    return undefined;
  }

  private later(ms: number, fn: () => void): void {
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      fn();
    }, ms);
    this.timers.add(timer);
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const url = new URL(req.url ?? '/', 'http://proxy');
    const partNumber = url.searchParams.get('partNumber');
    const uploadId = url.searchParams.get('uploadId');
    const record: ProxiedRequest = {
      id: this.nextId++,
      method: req.method ?? 'GET',
      path: url.pathname,
      query: url.searchParams,
      headers: req.headers,
      ...(partNumber !== null ? { partNumber: Number(partNumber) } : {}),
      ...(uploadId !== null ? { uploadId } : {}),
      bytesIn: 0,
      bytesOut: 0,
      completed: false,
      settled: false,
    };
    this.requests.push(record);
    req.on('data', (chunk: Buffer) => (record.bytesIn += chunk.length));
    const fault = this.chooseFault(record);
    if (fault) record.fault = fault.kind;
    const settle = () => {
      record.settled = true;
    };
    const finish = () => {
      if (record.completed) return;
      record.completed = true;
      settle();
      this.emit('response', record);
    };

    if (fault?.kind === 'reset') {
      settle();
      req.socket.destroy();
      return;
    }
    if (fault?.kind === 'status') {
      req.resume();
      req.on('close', () => {
        if (!req.complete) settle();
      });
      req.on('end', () => {
        const body =
          `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${fault.code}</Code>` +
          `<Message>${fault.code} injected by the fault proxy</Message><RequestId>fault-${record.id}</RequestId></Error>`;
        record.status = fault.status;
        res.writeHead(fault.status, {
          'content-type': 'application/xml',
          'content-length': Buffer.byteLength(body),
        });
        res.end(req.method === 'HEAD' ? undefined : body, finish);
      });
      return;
    }

    const headers = { ...req.headers };
    delete headers.expect; // answered here already (Node sends 100 Continue), the body follows at once
    const upstream = http.request({
      host: this.targetUrl.hostname,
      port: this.targetUrl.port,
      method: req.method,
      path: req.url,
      headers,
      agent: this.agent,
    });
    upstream.on('error', () => {
      settle();
      res.destroy();
    });
    req.on('close', () => {
      if (!req.complete) upstream.destroy();
    });
    upstream.on('response', (answer) => {
      record.status = answer.statusCode;
      const relay = () => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        if (fault?.kind === 'cut-response') {
          let sent = 0;
          answer.on('data', (chunk: Buffer) => {
            if (sent >= fault.afterBytes) return;
            const piece = chunk.subarray(0, fault.afterBytes - sent);
            sent += piece.length;
            record.bytesOut += piece.length;
            const cut = sent >= fault.afterBytes;
            res.write(piece, () => {
              // FIN, not RST: the client gets every byte sent, then a connection closed mid-body.
              if (cut) res.socket?.end();
            });
            if (cut) {
              answer.destroy();
              finish();
            }
          });
          answer.on('end', () => {
            // The body was shorter than the cut: close anyway, after what there was.
            res.socket?.end();
            finish();
          });
          return;
        }
        const rate = fault?.kind === 'slow-response' ? fault.bytesPerSecond : undefined;
        answer.on('data', (chunk: Buffer) => {
          record.bytesOut += chunk.length;
          const more = res.write(chunk);
          if (rate) {
            answer.pause();
            this.later((chunk.length / rate) * 1000, () => answer.resume());
          } else if (!more) {
            answer.pause();
            res.once('drain', () => answer.resume());
          }
        });
        answer.on('end', () => {
          res.end();
          // The server has answered in full: what it stored is stored, whether or not the client is alive.
          finish();
        });
        answer.on('error', () => {
          settle();
          res.destroy();
        });
      };
      if (fault?.kind === 'slow-response') this.later(fault.delayMs, relay);
      else relay();
    });
    req.pipe(upstream);
  }
}

/** A small seeded PRNG (mulberry32): the same seed gives the same faults. */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
