import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Redis } from 'ioredis';
import request from 'supertest';
import { BatchRepository } from '@audio/db';
import { findProgram, freePort, STARTUP_DEADLINE_MS, waitForPort } from '@audio/local-services';
import { METRIC_NAMES } from '@audio/metrics';
import { HeartbeatPublisher, transcribeQueueName } from '@audio/queues';
import { runHealthCli, type HealthReport } from '../src/index.js';
import { createTestDashboard, createUser, loginAs, type TestDashboard } from './support/test-dashboard.js';

const SHA = 'a'.repeat(64);

describe('GET /health and GET /metrics', () => {
  let dashboard: TestDashboard;

  beforeAll(async () => {
    dashboard = await createTestDashboard({ env: { HEALTH_MIN_FREE_SCRATCH: '10GiB' } });
  });
  afterAll(() => dashboard?.close());

  it('is 200 with every dependency reachable and nothing wrong', async () => {
    const response = await request(dashboard.app).get('/health').expect(200);
    const report = response.body as HealthReport;
    expect(report.status).toBe('healthy');
    expect(report.problems).toEqual([]);
    for (const name of ['redis', 'postgres', 's3'] as const) {
      expect(report.dependencies[name].ok).toBe(true);
      expect(report.dependencies[name].latencyMs).toBeGreaterThanOrEqual(0);
    }
    expect(report.queues?.map((q) => q.name)).toEqual(['unpack']);
    expect(report.stuckBatches).toEqual(expect.objectContaining({ count: 0 }));
    expect(report.noonTarget).toEqual(expect.objectContaining({ met: true, timeZone: 'UTC' }));
  });

  it('is 503 naming a stuck batch and a host out of scratch, and the metrics show them', async () => {
    const batches = new BatchRepository(dashboard.db);
    const batchId = '20250101-000000-abcdef';
    await batches.create({
      batchId,
      archiveKey: `archives/${batchId}.tar`,
      sha256: SHA,
      sizeBytes: 1000,
      source: 'test',
      transferredAt: new Date(Date.now() - 3 * 3_600_000),
    });
    await batches.markUnpacking(batchId, 'scratch-test-host');
    const connection = new Redis(dashboard.redisUrl);
    const heartbeat = new HeartbeatPublisher(
      connection,
      dashboard.prefix,
      {
        hostId: 'scratch-test-host',
        app: 'unpack',
        version: 'test',
        queues: ['unpack', 'convert-scratch-test-host'],
      },
      async () => ({ activeJobs: 1, freeScratchBytes: 2 * 1024 ** 3 }),
    );
    try {
      await heartbeat.beat();
      const response = await request(dashboard.app).get('/health').expect(503);
      const report = response.body as HealthReport;
      expect(report.status).toBe('unhealthy');
      expect(report.problems).toEqual(
        expect.arrayContaining([
          expect.stringMatching(/^1 batch stuck for more than 2 h 0 min: 20250101-000000-abcdef \(unpacking/),
          'host scratch-test-host: free scratch 2.0 GiB is below 10.0 GiB',
        ]),
      );
      expect(report.queues?.map((q) => q.name)).toContain('convert-scratch-test-host');

      const metrics = await request(dashboard.app).get('/metrics').expect(200);
      expect(metrics.headers['content-type']).toContain('text/plain');
      expect(metrics.text).toContain('audio_stuck_batches 1');
      expect(metrics.text).toContain(
        `audio_host_free_scratch_bytes{host="scratch-test-host"} ${2 * 1024 ** 3}`,
      );
      expect(metrics.text).toContain('audio_batches{status="unpacking"} 1');
      expect(metrics.text).toContain('audio_dependency_up{dependency="redis"} 1');
      expect(metrics.text).toMatch(
        /audio_queue_jobs\{queue="unpack",queue_kind="unpack",host="",state="waiting"\} 0/,
      );
      expect(metrics.text).toContain('audio_health_status 0');
    } finally {
      await heartbeat.stop();
      connection.disconnect();
    }
  });
});

/** An Etc/GMT zone where it is now between 12:00 and 12:59, so that a 23:59 deadline is hours away. */
function zoneAtLocalNoon(): string {
  const offset = 12 - new Date().getUTCHours(); // -11 … +12
  return offset === 0 ? 'UTC' : `Etc/GMT${offset > 0 ? '-' : '+'}${Math.abs(offset)}`;
}

describe('the noon forecast', () => {
  let dashboard: TestDashboard;
  const host = 'forecast-host';

  beforeAll(async () => {
    dashboard = await createTestDashboard({
      env: {
        NOON_TIME_ZONE: zoneAtLocalNoon(),
        NOON_CUTOFF: '06:00',
        NOON_DEADLINE: '23:59',
        STUCK_BATCH_AFTER: '24h',
        NOON_THROUGHPUT_WINDOW: '1h',
      },
    });
    // Due today (transferred 8 h ago, before the 06:00 cutoff): 10 060 files, 60 done in the last 10
    // minutes at one every 10 s (0.1 files/s): 10 000 files left need about 28 h, the deadline is < 12 h away.
    const batchId = '20250101-000000-f0f0f0';
    const batches = new BatchRepository(dashboard.db);
    await batches.create({
      batchId,
      archiveKey: `archives/${batchId}.tar`,
      sha256: SHA,
      sizeBytes: 1000,
      source: 'test',
      transferredAt: new Date(Date.now() - 8 * 3_600_000),
    });
    await batches.markUnpacking(batchId, host);
    await batches.markUnpacked(batchId, { fileCount: 10_060 });
    // And a batch that failed as a whole, due by its transfer time: not due, not a problem (issue 16's bug 2).
    const failedId = '20250101-000000-fa11ed';
    await batches.create({
      batchId: failedId,
      archiveKey: `archives/${failedId}.tar`,
      sha256: SHA,
      sizeBytes: 1000,
      source: 'test',
      transferredAt: new Date(Date.now() - 9 * 3_600_000),
    });
    await batches.markFailed(failedId, { code: 'truncated_archive', message: 'truncated' });
    const start = Date.now() - 10 * 60_000;
    await dashboard.db.prisma.audioFile.createMany({
      data: Array.from({ length: 60 }, (_, i) => ({
        batchId,
        originalFilename: `f${i}.mp3`,
        sizeBytes: 100n,
        sha256: SHA,
        createdAt: new Date(start + i * 10_000),
      })),
    });
  });
  afterAll(() => dashboard?.close());

  it('warns (200, status degraded, CLI exit 3) when the projection passes the deadline, before it is missed', async () => {
    const connection = new Redis(dashboard.redisUrl);
    const heartbeat = new HeartbeatPublisher(
      connection,
      dashboard.prefix,
      { hostId: host, app: 'gpu', version: 'test', queues: [transcribeQueueName(host)] },
      async () => ({ activeJobs: 1, freeScratchBytes: null }),
    );
    try {
      // No live host yet: the forecast cannot be made, and says so.
      let report = (await request(dashboard.app).get('/health').expect(200)).body as HealthReport;
      expect(report.status).toBe('degraded');
      expect(report.noonForecast?.state).toBe('unknown');
      // The batch that failed as a whole is a warning of its own (recent failures), not a noon problem.
      expect(report.warnings).toEqual([
        '1 batch failed in the last 1.0 d: 20250101-000000-fa11ed (truncated_archive)',
        'noon forecast: 10000 files of 1 batch due by 23:59 ' +
          `${dashboard.env.NOON_TIME_ZONE}, and no live processing host`,
      ]);

      await heartbeat.beat();
      report = (await request(dashboard.app).get('/health').expect(200)).body as HealthReport;
      expect(report.status).toBe('degraded');
      expect(report.problems).toEqual([]);
      expect(report.noonTarget).toMatchObject({
        met: false,
        deadlinePassed: false,
        batchesDue: 1,
        failedBatchIds: ['20250101-000000-fa11ed'],
      });
      const forecast = report.noonForecast!;
      expect(forecast).toMatchObject({ state: 'at_risk', batchesRemaining: 1, filesRemaining: 10_000 });
      expect(forecast.filesPerSecond).toBeCloseTo(59 / 590, 6);
      expect(Date.parse(String(forecast.projectedReadyAt))).toBeGreaterThan(
        Date.parse(String(forecast.deadlineAt)),
      );
      expect(report.warnings[1]).toMatch(
        /^noon forecast: 10000 files of 1 batch due by 23:59 .* are projected ready at \S+, \d+ h \d+ min after the deadline, at 0\.10 files\/s from 1 host$/,
      );

      const metrics = (await request(dashboard.app).get('/metrics').expect(200)).text;
      expect(metrics).toContain('audio_health_status 0.5');
      expect(metrics).toContain('audio_noon_projected_miss 1');
      expect(metrics).toContain('audio_noon_backlog_files 10000');
      expect(metrics).toMatch(/audio_host_throughput_files_per_second\{host="forecast-host"\} 0\.1/);
      expect(metrics).toMatch(/audio_noon_projected_ready_timestamp_seconds \d+/);
      expect(metrics).toMatch(/audio_noon_deadline_timestamp_seconds \d+/);

      const output: string[] = [];
      expect(await runHealthCli(['--compact'], { env: dashboard.env, stdout: (t) => output.push(t) })).toBe(
        3,
      );
      expect((JSON.parse(output.join('')) as HealthReport).status).toBe('degraded');

      await createUser(dashboard, 'forecast-viewer', 'viewer');
      const viewer = await loginAs(dashboard.app, 'forecast-viewer');
      const page = (await viewer.get('/status').expect(200)).text;
      expect(page).toContain('badge degraded');
      expect(page).toMatch(/id="noon-forecast"[\s\S]*at risk[\s\S]*10000 files left/);
      expect(page).toContain('1 failed as a whole (not due until replayed)');
    } finally {
      await heartbeat.stop();
      connection.disconnect();
    }
  });
});

describe('the alert rules (infra/prometheus/alerts.yml)', () => {
  it('name only series that the dashboard or the workers export', async () => {
    const rules = fs.readFileSync(
      path.resolve(import.meta.dirname, '../../../infra/prometheus/alerts.yml'),
      'utf8',
    );
    const named = [...new Set(rules.match(/\baudio_[a-z0-9_]+/g))].sort();
    expect(named.length).toBeGreaterThan(10);
    const dashboard = await createTestDashboard();
    try {
      const exported = (await request(dashboard.app).get('/metrics').expect(200)).text;
      const workerSeries = Object.values(METRIC_NAMES);
      const missing = named.filter(
        (name) =>
          !exported.includes(`# TYPE ${name} `) &&
          !workerSeries.includes(name.replace(/_(count|sum|bucket)$/, '') as never),
      );
      expect(missing).toEqual([]);
    } finally {
      await dashboard.close();
    }
  });
});

describe('METRICS_TOKEN', () => {
  it('guards /health and /metrics with a bearer token when set', async () => {
    const token = 'test-token-0123456789abcdef';
    const dashboard = await createTestDashboard({ env: { METRICS_TOKEN: token } });
    try {
      await request(dashboard.app).get('/metrics').expect(401);
      await request(dashboard.app).get('/health').set('Authorization', 'Bearer wrong-token').expect(401);
      await request(dashboard.app).get('/metrics').set('Authorization', `Bearer ${token}`).expect(200);
      await request(dashboard.app).get('/health').set('Authorization', `Bearer ${token}`).expect(200);
    } finally {
      await dashboard.close();
    }
  });
});

// A Redis of this test's own, stopped mid-test: the shared one keeps serving everyone else.
describe('with Redis stopped', () => {
  let redisServer: ChildProcess | undefined;
  let dashboard: TestDashboard;

  beforeAll(async () => {
    const redisBinary = findProgram('redis-server');
    if (!redisBinary) throw new Error('redis-server is not installed (apt-get install -y redis-server)');
    const port = await freePort();
    redisServer = spawn(
      redisBinary,
      [
        '--port',
        String(port),
        '--bind',
        '127.0.0.1',
        '--save',
        '',
        '--appendonly',
        'no',
        '--daemonize',
        'no',
      ],
      {
        stdio: 'ignore',
      },
    );
    await waitForPort(port, STARTUP_DEADLINE_MS);
    dashboard = await createTestDashboard({ redisUrl: `redis://127.0.0.1:${port}` });
  });

  afterAll(async () => {
    redisServer?.kill('SIGKILL');
    await dashboard?.close();
    // ioredis force-destroys the dead server's socket 2 s after disconnect(); let it, so jest exits cleanly.
    await new Promise((resolve) => setTimeout(resolve, 2100));
  });

  it('turns /health to 503 naming Redis, and the health CLI exits 1', async () => {
    await request(dashboard.app).get('/health').expect(200);
    const output: string[] = [];
    expect(await runHealthCli(['--compact'], { env: dashboard.env, stdout: (t) => output.push(t) })).toBe(0);
    expect(JSON.parse(output.join('')).status).toBe('healthy');

    const exited = new Promise((resolve) => redisServer!.once('exit', resolve));
    redisServer!.kill('SIGKILL');
    await exited;

    const response = await request(dashboard.app).get('/health').expect(503);
    const report = response.body as HealthReport;
    expect(report.status).toBe('unhealthy');
    expect(report.dependencies.redis.ok).toBe(false);
    expect(report.dependencies.postgres.ok).toBe(true);
    expect(report.problems[0]).toMatch(/^redis unreachable: /);
    expect(report.queues).toBeNull();

    output.length = 0;
    expect(await runHealthCli([], { env: dashboard.env, stdout: (t) => output.push(t) })).toBe(1);
    expect((JSON.parse(output.join('')) as HealthReport).problems.join('\n')).toMatch(/redis unreachable/);

    // /metrics still answers, saying Redis is down.
    const metrics = await request(dashboard.app).get('/metrics').expect(200);
    expect(metrics.text).toContain('audio_dependency_up{dependency="redis"} 0');
  });

  it('exits 2 when it cannot check at all', async () => {
    const errors: string[] = [];
    const code = await runHealthCli([], {
      env: { ...dashboard.env, REDIS_URL: 'http://not-redis' },
      stderr: (t) => errors.push(t),
    });
    expect(code).toBe(2);
    expect(errors.join('')).toContain('REDIS_URL');
  });
});
