// A loopback HTTP proxy in front of the S3 server that breaks part uploads on purpose: real HTTP, real
// Swift behind it. Presigned URLs are made for the proxy's address and the Host header is passed through
// unchanged, so their signatures still hold.
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FaultPlan {
  /** Fail every n-th part PUT (5: 20 % of them), alternating a 503 and a dropped connection. */
  failEvery?: number;
  /** Forward this many part PUTs, then hold every further one unanswered (a client stuck mid-upload). */
  holdAfter?: number;
}

export interface FaultProxy {
  url: string;
  plan: FaultPlan;
  /** Part PUTs seen, failed on purpose, and the part numbers forwarded to S3, in order. */
  stats: { partPuts: number; failed: number; forwarded: number[] };
  /** Forgets the counts (a new client run). */
  reset(plan?: FaultPlan): void;
  close(): Promise<void>;
}

export async function startFaultProxy(target: string, plan: FaultPlan = {}): Promise<FaultProxy> {
  const upstream = new URL(target);
  const stats = { partPuts: 0, failed: 0, forwarded: [] as number[] };
  const held = new Set<http.IncomingMessage>();
  const proxy: FaultProxy = {
    url: '',
    plan,
    stats,
    reset(next = {}) {
      proxy.plan = next;
      stats.partPuts = 0;
      stats.failed = 0;
      stats.forwarded = [];
      for (const request of held) request.socket.destroy();
      held.clear();
    },
    close: async () => {
      for (const request of held) request.socket.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };

  const server = http.createServer((req, res) => {
    const partNumber = Number(new URL(req.url ?? '/', 'http://x').searchParams.get('partNumber') ?? NaN);
    const isPart = req.method === 'PUT' && Number.isInteger(partNumber);
    if (isPart) {
      stats.partPuts += 1;
      const { failEvery, holdAfter } = proxy.plan;
      if (failEvery && stats.partPuts % failEvery === 0) {
        stats.failed += 1;
        if (stats.failed % 2 === 1) {
          req.resume();
          req.on('end', () =>
            res
              .writeHead(503, { 'content-type': 'application/xml' })
              .end('<Error><Code>ServiceUnavailable</Code><Message>injected</Message></Error>'),
          );
        } else req.socket.destroy();
        return;
      }
      if (holdAfter !== undefined && stats.forwarded.length >= holdAfter) {
        held.add(req);
        return;
      }
      stats.forwarded.push(partNumber);
    }
    const forward = http.request(
      {
        host: upstream.hostname,
        port: upstream.port,
        method: req.method,
        path: req.url,
        headers: req.headers,
      },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    forward.on('error', () => res.destroy());
    req.pipe(forward);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  proxy.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return proxy;
}
