import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { MonitoringQueries, type Db } from '../src/index.js';
import { openFreshDb, type FreshDb } from './support/fresh-db.js';

// Cutoff 06:00 UTC, deadline 12:00 UTC; now = 09:00 UTC on 2025-07-01.
const NOW = new Date('2025-07-01T09:00:00Z');
const UTC = { timeZone: 'UTC', now: NOW } as const;
const SHA = 'd'.repeat(64);

async function batch(
  db: Db,
  id: string,
  fields: {
    transferredAt: string;
    status: 'transferred' | 'unpacking' | 'unpacked' | 'complete' | 'failed';
    host?: string;
    fileCount?: number;
    sizeBytes?: bigint;
    completedAt?: string;
  },
): Promise<void> {
  await db.prisma.batch.create({
    data: {
      batchId: id,
      archiveKey: `archives/${id}.tar`,
      sha256: SHA,
      sizeBytes: fields.sizeBytes ?? 1000n,
      source: 'test',
      status: fields.status,
      host: fields.host ?? null,
      fileCount: fields.fileCount ?? null,
      transferredAt: new Date(fields.transferredAt),
      completedAt: fields.completedAt ? new Date(fields.completedAt) : null,
    },
  });
}

/** `count` audio rows of a batch, written in groups of `groupSize` sharing one created_at, `everyMs` apart. */
async function files(
  db: Db,
  batchId: string,
  options: { count: number; from: string; everyMs: number; groupSize?: number; offset?: number },
): Promise<void> {
  const groupSize = options.groupSize ?? 1;
  await db.prisma.audioFile.createMany({
    data: Array.from({ length: options.count }, (_, i) => ({
      batchId,
      originalFilename: `f${(options.offset ?? 0) + i}.mp3`,
      sizeBytes: 100n,
      sha256: SHA,
      createdAt: new Date(Date.parse(options.from) + Math.floor(i / groupSize) * options.everyMs),
    })),
  });
}

describe('noon target: a batch that failed for good', () => {
  let fresh: FreshDb;
  let q: MonitoringQueries;

  beforeAll(async () => {
    fresh = await openFreshDb();
    q = new MonitoringQueries(fresh.db);
    await batch(fresh.db, '20250630-200000-aaaaa1', {
      transferredAt: '2025-06-30T20:00:00Z',
      status: 'complete',
      completedAt: '2025-06-30T21:00:00Z',
    });
    // A truncated archive: it failed as a whole and will never complete unless replayed.
    await batch(fresh.db, '20250628-030000-aaaaa2', {
      transferredAt: '2025-06-28T03:00:00Z',
      status: 'failed',
    });
  });
  afterAll(() => fresh?.close());

  it('is not due: the target is met, and the failure is named apart', async () => {
    const afternoon = await q.noonTarget({ timeZone: 'UTC', now: new Date('2025-07-01T15:00:00Z') });
    expect(afternoon).toMatchObject({
      deadlinePassed: true,
      batchesDue: 1,
      batchesComplete: 1,
      lateBatchIds: [],
      met: true,
      failedBatchIds: ['20250628-030000-aaaaa2'],
    });
  });

  it('is due again once a replay moves it back into the pipeline', async () => {
    await fresh.db.prisma.batch.update({
      where: { batchId: '20250628-030000-aaaaa2' },
      data: { status: 'unpacking' },
    });
    try {
      const report = await q.noonTarget({ timeZone: 'UTC', now: new Date('2025-07-01T15:00:00Z') });
      expect(report).toMatchObject({ batchesDue: 2, met: false, failedBatchIds: [] });
      expect(report.lateBatchIds).toEqual(['20250628-030000-aaaaa2']);
    } finally {
      await fresh.db.prisma.batch.update({
        where: { batchId: '20250628-030000-aaaaa2' },
        data: { status: 'failed' },
      });
    }
  });
});

describe('noonBacklog and hostThroughput', () => {
  let fresh: FreshDb;
  let q: MonitoringQueries;

  beforeAll(async () => {
    fresh = await openFreshDb();
    q = new MonitoringQueries(fresh.db);
    const db = fresh.db;
    // History: yesterday's batch of 10 files in a 10 MB archive → 1 MB per file.
    await batch(db, '20250630-100000-bbbbb1', {
      transferredAt: '2025-06-30T10:00:00Z',
      status: 'complete',
      host: 'gpu-a',
      fileCount: 10,
      sizeBytes: 10_000_000n,
      completedAt: '2025-06-30T11:00:00Z',
    });
    // Due and unpacked on gpu-a: 100 files, 40 done, 5 failed → 55 left.
    await batch(db, '20250701-010000-bbbbb2', {
      transferredAt: '2025-07-01T01:00:00Z',
      status: 'unpacked',
      host: 'gpu-a',
      fileCount: 100,
    });
    // gpu-a: 40 rows in groups of 4, one group every 10 s from 08:30 → 36 timed files in 90 s.
    await files(db, '20250701-010000-bbbbb2', {
      count: 40,
      from: '2025-07-01T08:30:00Z',
      everyMs: 10_000,
      groupSize: 4,
    });
    await db.prisma.processingFailure.createMany({
      data: Array.from({ length: 5 }, (_, i) => ({
        batchId: '20250701-010000-bbbbb2',
        entry: `bad${i}.mp3`,
        stage: 'convert' as const,
        reasonCode: 'decode_error',
        message: 'x',
      })),
    });
    // Due, not unpacked yet: 25 MB of archive → about 25 files.
    await batch(db, '20250701-020000-bbbbb3', {
      transferredAt: '2025-07-01T02:00:00Z',
      status: 'transferred',
      sizeBytes: 25_000_000n,
    });
    // Not due: failed, complete, or transferred after the cutoff.
    await batch(db, '20250701-030000-bbbbb4', { transferredAt: '2025-07-01T03:00:00Z', status: 'failed' });
    await batch(db, '20250701-070000-bbbbb5', {
      transferredAt: '2025-07-01T07:00:00Z',
      status: 'unpacked',
      host: 'gpu-b',
      fileCount: 50,
    });
    // gpu-b: two runs with a 20-minute idle gap between them: 8:05-8:06 (7 timed files in 60 s) and
    // 8:26-8:27 (7 timed files in 60 s); the gap is idle time, not work.
    await files(db, '20250701-070000-bbbbb5', {
      count: 8,
      from: '2025-07-01T08:05:00Z',
      everyMs: 60_000 / 7,
    });
    await files(db, '20250701-070000-bbbbb5', {
      count: 8,
      from: '2025-07-01T08:26:00Z',
      everyMs: 60_000 / 7,
      offset: 8,
    });
    // Old rows of gpu-a outside the 1-hour window.
    await files(db, '20250630-100000-bbbbb1', { count: 10, from: '2025-06-30T10:30:00Z', everyMs: 1000 });
  });
  afterAll(() => fresh?.close());

  it('counts the due files left and the archive bytes not unpacked yet', async () => {
    expect(await q.noonBacklog(UTC)).toEqual({
      cutoffAt: new Date('2025-07-01T06:00:00Z'),
      deadlineAt: new Date('2025-07-01T12:00:00Z'),
      batches: 2,
      filesRemaining: 55,
      batchesNotUnpacked: 1,
      bytesNotUnpacked: 25_000_000,
      bytesPerFile: 1_000_000,
    });
  });

  it('measures each host over its busy time, idle gaps left out', async () => {
    const hosts = await q.hostThroughput({ now: NOW });
    expect(hosts.map((h) => [h.host, h.files, h.timedFiles])).toEqual([
      ['gpu-a', 40, 36],
      ['gpu-b', 16, 14],
    ]);
    expect(hosts[0]!.busySeconds).toBeCloseTo(90, 3);
    expect(hosts[0]!.filesPerSecond).toBeCloseTo(0.4, 6);
    expect(hosts[1]!.busySeconds).toBeCloseTo(120, 3);
    expect(hosts[1]!.filesPerSecond).toBeCloseTo(14 / 120, 6);
    // The last 31 minutes: gpu-a's rows from 08:30, none of gpu-b's.
    const recent = await q.hostThroughput({ now: NOW, windowMs: 31 * 60_000 });
    expect(recent.map((h) => h.host)).toEqual(['gpu-a']);
  });
});
