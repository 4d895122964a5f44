import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Queue } from 'bullmq';
import { makeManyFileArchive } from '@audio/fixtures';
import { freePort } from '@audio/local-services';
import { createRedisConnection, type RedisClient, readRedisConfig, transcribeQueueName } from '@audio/queues';
import {
  batchRowCounts,
  createPipelineTestEnv,
  FAST_STALL_RECOVERY,
  spawnApp,
  startInProcessApps,
  waitFor,
  waitForBatchDone,
  type AppProcess,
  type InProcessApps,
  type PipelineTestEnv,
} from './support/index.js';

/** Separate GPU app processes on one host's queues; unpack and transfer run in the test process. */
describe('GPU worker processes', () => {
  let t: PipelineTestEnv;
  let apps: InProcessApps;
  let redis: RedisClient;
  let transcribeQueue: Queue;
  let work: string;
  const processes: AppProcess[] = [];

  const startGpu = async (extra: NodeJS.ProcessEnv = {}) => {
    const gpu = spawnApp('gpu', { ...t.env, LOG_LEVEL: 'info', ...extra });
    processes.push(gpu);
    await gpu.waitForLog((l) => l.msg === 'gpu app started');
    return gpu;
  };

  /** The value of the first series of `name` whose labels contain `labels`, in Prometheus' text format. */
  const metricValue = (text: string, name: string, labels = '') =>
    Number(
      text
        .split('\n')
        .find((line) => (line.startsWith(`${name}{`) && line.includes(labels)) || line.startsWith(`${name} `))
        ?.split(' ')
        .at(-1) ?? 0,
    );

  const completedTranscribeJobs = async (batchId: string) =>
    (await transcribeQueue.getJobs(['completed'])).filter((j) => j.data.batchId === batchId);

  beforeAll(async () => {
    t = await createPipelineTestEnv('gpu');
    apps = await startInProcessApps(t, { gpu: false });
    redis = createRedisConnection(readRedisConfig(t.env), 'worker');
    transcribeQueue = new Queue(transcribeQueueName(t.hostId), { connection: redis, prefix: t.prefix });
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'gpu-e2e-'));
  });
  afterEach(async () => {
    await Promise.all(processes.splice(0).map((p) => p.kill('SIGTERM')));
  });
  afterAll(async () => {
    await transcribeQueue?.close();
    redis?.disconnect();
    await apps?.close();
    await t?.close();
    fs.rmSync(work, { recursive: true, force: true });
  });

  it('two GPU processes on one batch: each file is processed exactly once', async () => {
    const ports = [await freePort(), await freePort()];
    const [a, b] = await Promise.all(ports.map((port) => startGpu({ METRICS_PORT: String(port) })));
    const archive = path.join(work, 'two-workers.tar');
    const good = await makeManyFileArchive(archive, 60);
    const batchId = await apps.ingest(archive);
    const batch = await waitForBatchDone(t.db, batchId);

    expect(batch).toMatchObject({ status: 'complete', succeededCount: 60, failedCount: 0 });
    expect(await batchRowCounts(t.db, batchId)).toEqual({
      audioFiles: 60,
      transcripts: 60,
      classifications: 60,
      failures: 0,
    });
    const jobs = await completedTranscribeJobs(batchId);
    expect(new Set(jobs.map((j) => j.data.entry))).toEqual(new Set(Object.keys(good)));
    expect(jobs.every((j) => j.attemptsStarted === 1 && j.stalledCounter === 0)).toBe(true);
    // Both processes took part, and every job names the one that ran it.
    expect(new Set(jobs.map((j) => j.processedBy))).toEqual(
      new Set([a, b].map((p) => `transcribe@${t.hostId}/${p!.child.pid}`)),
    );
    // Each process's own /metrics (what Prometheus scrapes) counted its share of the work.
    let transcribed = 0;
    for (const port of ports) {
      const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      expect(metricValue(text, 'audio_sidecar_request_seconds_count')).toBeGreaterThan(0);
      expect(metricValue(text, 'audio_s3_bytes_total', 'direction="up"')).toBeGreaterThan(0);
      transcribed += metricValue(
        text,
        'audio_job_duration_seconds_count',
        'queue_kind="transcribe",outcome="completed"',
      );
    }
    expect(transcribed).toBe(60);
  });

  it('SIGKILL of the GPU process mid-batch, then a restart: the batch completes with no duplicate', async () => {
    const first = await startGpu(FAST_STALL_RECOVERY);
    const archive = path.join(work, 'killed.tar');
    await makeManyFileArchive(archive, 120);
    const batchId = await apps.ingest(archive);

    // Kill while it holds jobs: some files done, some in its hands, the rest still coming.
    await waitFor('the GPU process to be mid-batch', async () => {
      const done = await t.db.prisma.audioFile.count({ where: { batchId } });
      const active = await transcribeQueue.getActiveCount();
      return done >= 10 && done < 100 && active > 0 ? true : undefined;
    });
    expect(await first.kill('SIGKILL')).toBe(null);
    const doneAtKill = await t.db.prisma.audioFile.count({ where: { batchId } });
    expect(doneAtKill).toBeLessThan(120);

    await startGpu(FAST_STALL_RECOVERY);
    const batch = await waitForBatchDone(t.db, batchId);
    expect(batch).toMatchObject({ status: 'complete', succeededCount: 120, failedCount: 0 });
    expect(await batchRowCounts(t.db, batchId)).toEqual({
      audioFiles: 120,
      transcripts: 120,
      classifications: 120,
      failures: 0,
    });

    // The jobs the dead process held came back through the stalled check and ran again.
    const jobs = await completedTranscribeJobs(batchId);
    expect(jobs).toHaveLength(120);
    expect(jobs.some((j) => j.attemptsStarted > 1 || j.stalledCounter > 0)).toBe(true);
    // One Opus object per file, at the key its row names.
    const rows = await t.db.prisma.audioFile.findMany({ where: { batchId } });
    const keys = new Set(rows.map((r) => r.s3OpusPath));
    expect(keys.size).toBe(120);
    const prefix = rows[0]!.s3OpusPath!.slice(0, rows[0]!.s3OpusPath!.lastIndexOf('/') + 1);
    const ids = new Set(rows.map((r) => r.id));
    const listed: string[] = [];
    for await (const object of t.store.listAll(prefix)) listed.push(object.key);
    const ofThisBatch = listed.filter((k) => ids.has(path.basename(k, '.opus')));
    expect(ofThisBatch.sort()).toEqual([...keys].sort());
  });
});
