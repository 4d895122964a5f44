import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Queue } from 'bullmq';
import { makeHostileArchive, makeSampleArchive, SAMPLE_FLAGGED, truncateCopy } from '@audio/fixtures';
import { convertQueueName, createRedisConnection, readRedisConfig, transcribeQueueName } from '@audio/queues';
import {
  batchRowCounts,
  createPipelineTestEnv,
  startInProcessApps,
  waitForBatchDone,
  type InProcessApps,
  type PipelineTestEnv,
} from './support/index.js';

const MAX_ENTRY_BYTES = 2 * 1024 * 1024;
let t: PipelineTestEnv;
let apps: InProcessApps;
let work: string;

beforeAll(async () => {
  t = await createPipelineTestEnv('archives', { MAX_ENTRY_BYTES: String(MAX_ENTRY_BYTES) });
  apps = await startInProcessApps(t);
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'archives-e2e-'));
});
afterAll(async () => {
  await apps?.close();
  await t?.close();
  fs.rmSync(work, { recursive: true, force: true });
});

describe('the pipeline on real Redis, Postgres, Swift and ffmpeg', () => {
  it('processes the sample archive: good files once, the corrupt MP3 and the text file refused with reasons', async () => {
    const sample = await makeSampleArchive(path.join(work, 'sample.tar'));
    const batchId = await apps.ingest(sample.path);
    const batch = await waitForBatchDone(t.db, batchId);

    expect(batch).toMatchObject({ status: 'complete', succeededCount: 8, failedCount: 2, host: t.hostId });
    expect(await batchRowCounts(t.db, batchId)).toEqual({
      audioFiles: 8,
      transcripts: 8,
      classifications: 8,
      failures: 2,
    });
    const failures = await t.db.prisma.processingFailure.findMany({
      where: { batchId },
      orderBy: { entry: 'asc' },
    });
    expect(failures.map((f) => [f.entry, f.stage, f.reasonCode])).toEqual(
      Object.entries(sample.bad)
        .sort()
        .map(([entry, code]) => [entry, code === 'not_mp3' ? 'unpack' : 'convert', code]),
    );

    const files = await t.db.prisma.audioFile.findMany({
      where: { batchId },
      include: { transcript: true, classifications: true },
    });
    for (const file of files) {
      expect(file.transcript?.text).toBe(sample.good[file.originalFilename]);
      expect(file.s3OpusPath).toBe(
        `processed/${batch.transferredAt.toISOString().slice(0, 10)}/${file.id}.opus`,
      );
      const head = await t.store.head(file.s3OpusPath!);
      expect(head?.size).toBeGreaterThan(1000);
    }
    const flagged = files.filter((f) => f.classifications[0]?.flagged).map((f) => f.transcript?.text);
    expect(flagged.sort()).toEqual([...SAMPLE_FLAGGED].sort());
    expect(fs.existsSync(path.join(t.scratchRoot, batchId))).toBe(false);
  });

  it('refuses each hostile entry with its own reason, writes nothing outside the batch directory, keeps the good ones', async () => {
    const hostile = await makeHostileArchive(path.join(work, 'hostile.tar'), {
      tooLargeBytes: MAX_ENTRY_BYTES,
    });
    const batchId = await apps.ingest(hostile.path);
    const batch = await waitForBatchDone(t.db, batchId);

    expect(batch.status).toBe('complete');
    const failures = await t.db.prisma.processingFailure.findMany({ where: { batchId } });
    expect(Object.fromEntries(failures.map((f) => [f.entry, f.reasonCode]))).toEqual(hostile.bad);
    const files = await t.db.prisma.audioFile.findMany({ where: { batchId }, include: { transcript: true } });
    expect(Object.fromEntries(files.map((f) => [f.originalFilename, f.transcript?.text]))).toEqual(
      hostile.good,
    );

    // The escapes the archive tried, relative to the batch directory and to the scratch root.
    const batchDir = path.join(t.scratchRoot, batchId);
    for (const target of ['../../escape.mp3', '../../../escape2.mp3', '../escape.mp3', 'escape.mp3']) {
      expect(fs.existsSync(path.resolve(batchDir, target))).toBe(false);
      expect(fs.existsSync(path.resolve(t.scratchRoot, target))).toBe(false);
    }
    expect(fs.existsSync(path.join(path.dirname(t.scratchRoot), 'escape.mp3'))).toBe(false);
    expect(fs.existsSync('/etc/evil.mp3')).toBe(false);
    expect(t.scratchListing()).toEqual([]);
  });

  it('fails a truncated archive with a reason and leaves nothing half-written', async () => {
    const sample = await makeSampleArchive(path.join(work, 'whole.tar'));
    const truncated = path.join(work, 'truncated.tar');
    await truncateCopy(sample.path, truncated, 0.55);
    const batchId = await apps.ingest(truncated);
    const batch = await waitForBatchDone(t.db, batchId);

    expect(batch).toMatchObject({ status: 'failed', errorCode: 'truncated_archive' });
    expect(batch.errorMessage).toMatch(/ends in the middle of an entry/);
    expect(await batchRowCounts(t.db, batchId)).toEqual({
      audioFiles: 0,
      transcripts: 0,
      classifications: 0,
      failures: 0,
    });
    expect(fs.existsSync(path.join(t.scratchRoot, batchId))).toBe(false);
    const redis = createRedisConnection(readRedisConfig(t.env), 'producer');
    for (const name of [convertQueueName(t.hostId), transcribeQueueName(t.hostId)]) {
      const queue = new Queue(name, { connection: redis, prefix: t.prefix });
      const jobs = await queue.getJobs(['waiting', 'active', 'delayed', 'completed', 'failed']);
      expect(jobs.filter((j) => j.data.batchId === batchId)).toEqual([]);
      await queue.close();
    }
    redis.disconnect();
  });
});
