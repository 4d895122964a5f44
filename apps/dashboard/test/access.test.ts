import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Queue, UnrecoverableError, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import request from 'supertest';
import { convertQueueName, HeartbeatPublisher, transcribeQueueName } from '@audio/queues';
import { runUsersCli } from '../src/index.js';
import {
  createTestDashboard,
  createUser,
  csrfTokenOf,
  loginAs,
  PASSWORD,
  type TestDashboard,
} from './support/test-dashboard.js';

// Who may do what: anonymous requests, viewers (read-only Bull Board), admins (retry/delete), reviewers.
describe('dashboard access control', () => {
  const host = 'access-test-host';
  const queueName = transcribeQueueName(host);
  let dashboard: TestDashboard;
  let worker: Redis;
  let queue: Queue;
  let heartbeat: HeartbeatPublisher;
  let retryJobId: string;
  let deleteJobId: string;

  beforeAll(async () => {
    dashboard = await createTestDashboard();
    await createUser(dashboard, 'admin1', 'admin');
    await createUser(dashboard, 'viewer1', 'viewer');
    await createUser(dashboard, 'reviewer1', 'reviewer');
    worker = new Redis(dashboard.redisUrl, { maxRetriesPerRequest: null });
    // A worker on a host the dashboard has never seen announces its queues in a heartbeat.
    heartbeat = new HeartbeatPublisher(
      worker,
      dashboard.prefix,
      { hostId: host, app: 'gpu', version: 'test', queues: [queueName, convertQueueName(host)] },
      async () => ({ activeJobs: 0, freeScratchBytes: 500 * 1024 ** 3 }),
    );
    await heartbeat.beat();
    await dashboard.queues.discover();
    // Two jobs that failed for good, for the retry and delete attempts.
    queue = new Queue(queueName, { connection: worker, prefix: dashboard.prefix });
    retryJobId = (await queue.add('transcribe', { n: 1 })).id!;
    deleteJobId = (await queue.add('transcribe', { n: 2 })).id!;
    const failing = new Worker(
      queueName,
      async () => {
        throw new UnrecoverableError('[decode_error@convert] bad audio');
      },
      { connection: worker, prefix: dashboard.prefix },
    );
    while ((await queue.getJobCounts('failed')).failed! < 2) await new Promise((r) => setTimeout(r, 50));
    await failing.close();
  });

  afterAll(async () => {
    await heartbeat?.stop();
    await queue?.obliterate({ force: true }).catch(() => undefined);
    await queue?.close();
    worker?.disconnect();
    await dashboard?.close();
  });

  const retryPath = (jobId: string) => `/board/api/queues/${queueName}/${jobId}/retry`;
  const deletePath = (jobId: string) => `/board/api/queues/${queueName}/${jobId}/clean`;
  // What a browser sends with Bull Board's own XHR requests.
  const sameOrigin = (req: request.Test) => req.set('Sec-Fetch-Site', 'same-origin');

  it('refuses anonymous requests to Bull Board, its API and the dashboard API', async () => {
    const anonymous = request(dashboard.app);
    await anonymous.get('/board/api/queues').expect(401);
    await anonymous.put(retryPath(retryJobId)).expect(401);
    await anonymous.get('/api/batches').expect(401);
    const board = await anonymous.get('/board').expect(302);
    expect(board.headers.location).toBe('/login?next=%2Fboard');
    expect((await anonymous.get('/batches').expect(302)).headers.location).toMatch(/^\/login/);
    expect((await anonymous.get('/review').expect(302)).headers.location).toMatch(/^\/login/);
  });

  it('refuses a wrong password and a login form without its CSRF token', async () => {
    const agent = request.agent(dashboard.app);
    const page = await agent.get('/login').expect(200);
    const wrong = await agent
      .post('/login')
      .type('form')
      .send({ username: 'admin1', password: 'not the password', _csrf: csrfTokenOf(page.text) });
    expect(wrong.status).toBe(401);
    expect(wrong.text).toContain('Wrong username or password');
    await agent.post('/login').type('form').send({ username: 'admin1', password: PASSWORD }).expect(403);
    await agent.get('/api/batches').expect(401);
  });

  it('shows viewers every queue, host-affine ones from heartbeats included, and refuses their retry and delete', async () => {
    const viewer = await loginAs(dashboard.app, 'viewer1');
    const queues = await viewer.get('/board/api/queues').expect(200);
    const names = (queues.body as { queues: { name: string; readOnlyMode: boolean }[] }).queues.map(
      (q) => q.name,
    );
    expect(names).toEqual(expect.arrayContaining(['unpack', queueName, convertQueueName(host)]));
    expect((queues.body as { queues: { readOnlyMode: boolean }[] }).queues.every((q) => q.readOnlyMode)).toBe(
      true,
    );
    await viewer.put(retryPath(retryJobId)).use(sameOrigin).expect(403);
    await viewer.put(deletePath(deleteJobId)).use(sameOrigin).expect(403);
    await viewer.put(`/board/api/queues/${queueName}/retry/failed`).use(sameOrigin).expect(403);
    expect(await (await queue.getJob(retryJobId))!.getState()).toBe('failed');
    expect(await queue.getJob(deleteJobId)).toBeDefined();
    const page = await viewer.get('/board').expect(200);
    expect(page.text).toContain('Audio pipeline (read-only)');
    await viewer.get('/api/batches').expect(200);
  });

  it("allows an admin's retry and delete from the dashboard's own origin only", async () => {
    const admin = await loginAs(dashboard.app, 'admin1');
    const queues = await admin.get('/board/api/queues').expect(200);
    expect((queues.body as { queues: { readOnlyMode: boolean }[] }).queues.some((q) => q.readOnlyMode)).toBe(
      false,
    );
    // A forged cross-site request carrying the admin's cookie is refused.
    await admin.put(retryPath(retryJobId)).set('Origin', 'http://evil.example').expect(403);
    await admin.put(retryPath(retryJobId)).set('Sec-Fetch-Site', 'cross-site').expect(403);
    expect(await (await queue.getJob(retryJobId))!.getState()).toBe('failed');

    const retried = await admin.put(retryPath(retryJobId)).use(sameOrigin);
    expect(retried.status).toBeLessThan(300);
    expect(await (await queue.getJob(retryJobId))!.getState()).toBe('waiting');

    // Without Sec-Fetch-Site (older browsers), the Origin header must name the dashboard itself.
    const server = dashboard.app.listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      const adminOverHttp = await loginAs(url, 'admin1');
      const deleted = await adminOverHttp.put(deletePath(deleteJobId)).set('Origin', url);
      expect(deleted.status).toBeLessThan(300);
      expect(await queue.getJob(deleteJobId)).toBeUndefined();
    } finally {
      server.close();
      server.closeAllConnections();
    }
  });

  it('keeps reviewers to the review UI', async () => {
    const reviewer = await loginAs(dashboard.app, 'reviewer1');
    await reviewer.get('/board').expect(403);
    await reviewer.get('/board/api/queues').expect(403);
    await reviewer.get('/api/batches').expect(403);
    await reviewer.get('/batches').expect(403);
    await reviewer.get('/review').expect(200);
  });

  it('ends the session at logout and refuses a deactivated account at once', async () => {
    const viewer = await loginAs(dashboard.app, 'viewer1');
    const page = await viewer.get('/batches').expect(200);
    await viewer
      .post('/logout')
      .type('form')
      .send({ _csrf: csrfTokenOf(page.text) })
      .expect(303);
    await viewer.get('/api/batches').expect(401);

    const again = await loginAs(dashboard.app, 'viewer1');
    await again.get('/api/batches').expect(200);
    const out: string[] = [];
    const code = await runUsersCli(['deactivate', 'viewer1'], {
      env: dashboard.env,
      stdout: (t) => out.push(t),
    });
    expect(code).toBe(0);
    expect(out.join('')).toContain('viewer1 deactivated');
    await again.get('/api/batches').expect(401);
  });

  it('manages accounts from the users CLI', async () => {
    const io = {
      env: dashboard.env,
      stdout: () => undefined,
      stderr: () => undefined,
      stdin: async () => 'a brand new passphrase\n',
    };
    expect(await runUsersCli(['create', 'ops1', '--role', 'ops', '--password-stdin'], io)).toBe(0);
    const ops = await loginAs(dashboard.app, 'ops1', 'a brand new passphrase');
    expect((await ops.get('/board/api/queues').expect(200)).body.queues[0].readOnlyMode).toBe(false);
    expect(await runUsersCli(['set-role', 'ops1', 'viewer'], io)).toBe(0);
    expect((await ops.get('/board/api/queues').expect(200)).body.queues[0].readOnlyMode).toBe(true);
    const errors: string[] = [];
    expect(
      await runUsersCli(['create', 'ops1', '--role', 'ops', '--password-stdin'], {
        ...io,
        stderr: (t) => errors.push(t),
      }),
    ).toBe(1);
    expect(
      await runUsersCli(['create', 'short', '--role', 'viewer', '--password-stdin'], {
        ...io,
        stdin: async () => 'short',
        stderr: (t) => errors.push(t),
      }),
    ).toBe(1);
    expect(errors.join('')).toMatch(/ops1[\s\S]*12/);
  });
});

describe('login rate limit', () => {
  it('answers 429 after LOGIN_RATE_LIMIT failed attempts', async () => {
    const dashboard = await createTestDashboard({ env: { LOGIN_RATE_LIMIT: '2' } });
    try {
      const agent = request.agent(dashboard.app);
      const token = csrfTokenOf((await agent.get('/login')).text);
      const attempt = () =>
        agent
          .post('/login')
          .type('form')
          .send({ username: 'nobody', password: 'wrong password!', _csrf: token });
      expect((await attempt()).status).toBe(401);
      expect((await attempt()).status).toBe(401);
      const limited = await attempt();
      expect(limited.status).toBe(429);
      expect(limited.text).toContain('Too many failed logins');
    } finally {
      await dashboard.close();
    }
  });
});
