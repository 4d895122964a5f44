import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { DbInputError, MonitoringQueries } from '../src/index.js';
import { openFreshDb, type FreshDb } from './support/fresh-db.js';
import { NOW, seedMonitoringData } from './support/monitoring-seed.js';

const HOUR = 3_600_000;

describe('MonitoringQueries on seeded data (now = 2025-06-23 10:30 UTC)', () => {
  let fresh: FreshDb;
  let q: MonitoringQueries;
  let ids: Record<string, string>;

  beforeAll(async () => {
    fresh = await openFreshDb();
    ids = await seedMonitoringData(fresh.db);
    q = new MonitoringQueries(fresh.db);
  });
  afterAll(() => fresh?.close());

  it('batchesByStatus counts every status, zeros included', async () => {
    expect(await q.batchesByStatus()).toEqual([
      { status: 'transferred', batches: 1 },
      { status: 'unpacking', batches: 2 },
      { status: 'unpacked', batches: 1 },
      { status: 'complete', batches: 4 },
      { status: 'failed', batches: 1 },
    ]);
  });

  it('stuckBatches lists batches neither complete nor failed after 2 h, oldest first', async () => {
    const stuck = await q.stuckBatches({ now: NOW });
    expect(stuck.map((b) => [b.batchId, b.status, b.host, b.ageSeconds])).toEqual([
      ['20250610-000000-aaaaa8', 'unpacking', 'gpu-b', 1_161_000],
      ['20250623-030000-aaaaa4', 'unpacked', 'gpu-b', 27_000],
      ['20250623-050000-aaaaa5', 'unpacking', 'gpu-a', 19_800],
    ]);
    expect(stuck[1]!.transferredAt).toEqual(new Date('2025-06-23T03:00:00Z'));
    const sixHours = await q.stuckBatches({ now: NOW, olderThanMs: 6 * HOUR });
    expect(sixHours.map((b) => b.batchId)).toEqual(['20250610-000000-aaaaa8', '20250623-030000-aaaaa4']);
  });

  it('failuresByReason groups the last 24 h by stage and reason', async () => {
    expect(await q.failuresByReason({ now: NOW })).toEqual([
      {
        stage: 'convert',
        reasonCode: 'decode_error',
        failures: 3,
        batches: 2,
        lastSeenAt: new Date('2025-06-23T09:00:00Z'),
      },
      {
        stage: 'unpack',
        reasonCode: 'corrupt_archive',
        failures: 1,
        batches: 1,
        lastSeenAt: new Date('2025-06-23T07:30:00Z'),
      },
      {
        stage: 'transcribe',
        reasonCode: 'sidecar_timeout',
        failures: 1,
        batches: 1,
        lastSeenAt: new Date('2025-06-23T10:00:00Z'),
      },
    ]);
    const lastHour = await q.failuresByReason({ now: NOW, sinceMs: HOUR });
    expect(lastHour.map((f) => [f.reasonCode, f.failures])).toEqual([['sidecar_timeout', 1]]);
  });

  it('filesPerHour fills every hour, the current one last', async () => {
    expect(await q.filesPerHour({ now: NOW, hours: 3 })).toEqual([
      { hour: new Date('2025-06-23T08:00:00Z'), files: 2 },
      { hour: new Date('2025-06-23T09:00:00Z'), files: 3 },
      { hour: new Date('2025-06-23T10:00:00Z'), files: 2 },
    ]);
    const day = await q.filesPerHour({ now: NOW });
    expect(day).toHaveLength(24);
    expect(day[0]!.hour).toEqual(new Date('2025-06-22T11:00:00Z'));
    expect(day.reduce((sum, h) => sum + h.files, 0)).toBe(9);
    expect(day.find((h) => h.hour.getTime() === Date.parse('2025-06-23T02:00:00Z'))?.files).toBe(2);
  });

  it('filesPerHost counts the last 24 h by the host that unpacked the batch', async () => {
    expect(await q.filesPerHost({ now: NOW })).toEqual([
      { host: 'gpu-b', files: 5, batches: 2 },
      { host: 'gpu-a', files: 4, batches: 2 },
    ]);
  });

  it('latencyPercentiles covers batches completed in the last 24 h', async () => {
    const latency = await q.latencyPercentiles({ now: NOW });
    expect(latency.batches).toBe(3);
    expect(latency.p50Seconds).toBe(28_800);
    expect(latency.p90Seconds).toBeCloseTo(29_520, 6); // 28800 + 0.8 × 900
    expect(latency.p99Seconds).toBeCloseTo(29_682, 6); // 28800 + 0.98 × 900
    expect(latency.maxSeconds).toBe(29_700);
    expect(await q.latencyPercentiles({ now: new Date('2025-01-01T00:00:00Z') })).toEqual({
      batches: 0,
      p50Seconds: null,
      p90Seconds: null,
      p99Seconds: null,
      maxSeconds: null,
    });
  });

  describe('noonTarget', () => {
    it('after the deadline: names the batches that missed it, and counts the review queue', async () => {
      expect(await q.noonTarget({ timeZone: 'Europe/Berlin', now: NOW })).toEqual({
        date: '2025-06-23',
        timeZone: 'Europe/Berlin',
        cutoffAt: new Date('2025-06-23T04:00:00Z'),
        deadlineAt: new Date('2025-06-23T10:00:00Z'),
        deadlinePassed: true,
        batchesDue: 5,
        batchesComplete: 3,
        lateBatchIds: ['20250623-020000-aaaaa3', '20250623-030000-aaaaa4'],
        met: false,
        flaggedWaiting: 3,
        failedBatchIds: [],
      });
    });

    it('before the deadline: judges completion so far', async () => {
      const report = await q.noonTarget({ timeZone: 'Europe/Berlin', now: new Date('2025-06-23T09:30:00Z') });
      expect(report).toMatchObject({ deadlinePassed: false, batchesDue: 5, batchesComplete: 3, met: false });
    });

    it('honours cutoff, deadline, time zone and lookback', async () => {
      const utc = await q.noonTarget({ timeZone: 'UTC', cutoff: '00:00', deadline: '12:00', now: NOW });
      expect(utc).toMatchObject({
        cutoffAt: new Date('2025-06-23T00:00:00Z'),
        deadlineAt: new Date('2025-06-23T12:00:00Z'),
        deadlinePassed: false,
        batchesDue: 2,
        batchesComplete: 2,
        lateBatchIds: [],
        met: true,
      });
      const lastDay = await q.noonTarget({ timeZone: 'Europe/Berlin', lookbackMs: 24 * HOUR, now: NOW });
      expect(lastDay).toMatchObject({ batchesDue: 4, batchesComplete: 2 });
    });

    it('judges a replayed batch by its first completion (issue 16, bug 1)', async () => {
      // aaaaa1 completed at 03:00 UTC; a replay at 10:20 is running again: still on time.
      await fresh.db.prisma.batch.update({
        where: { batchId: '20250622-220000-aaaaa1' },
        data: { status: 'unpacking', unpackingAt: new Date('2025-06-23T10:20:00Z') },
      });
      try {
        const report = await q.noonTarget({ timeZone: 'Europe/Berlin', now: NOW });
        expect(report).toMatchObject({ batchesDue: 5, batchesComplete: 3 });
        expect(report.lateBatchIds).not.toContain('20250622-220000-aaaaa1');
      } finally {
        await fresh.db.prisma.batch.update({
          where: { batchId: '20250622-220000-aaaaa1' },
          data: { status: 'complete' },
        });
      }
    });

    it('refuses an unknown time zone or a malformed time by name', async () => {
      await expect(q.noonTarget({ timeZone: 'Mars/Olympus' })).rejects.toThrow(DbInputError);
      await expect(q.noonTarget({ timeZone: 'UTC', cutoff: '6am' })).rejects.toThrow(
        'cutoff must be a time of day HH:MM such as 06:00, got "6am"',
      );
    });
  });

  it('flaggedWaiting counts the review queue, leased and unplayable items', async () => {
    expect(await q.flaggedWaiting()).toEqual({ waiting: 3, assigned: 1, withoutOpusKey: 1 });
  });

  it('oldestUnreviewedFlagged is the earliest flagged file without a label', async () => {
    expect(await q.oldestUnreviewedFlagged({ now: NOW })).toEqual({
      audioFileId: ids.b9a,
      batchId: '20250621-120000-aaaaa9',
      originalFilename: 'b9a.mp3',
      flaggedAt: new Date('2025-06-21T13:00:00Z'),
      ageSeconds: 163_800,
    });
  });

  it('filesWithoutOpusKey skips files younger than the grace period', async () => {
    const missing = await q.filesWithoutOpusKey({ now: NOW });
    expect(missing.count).toBe(2);
    expect(missing.files.map((f) => f.originalFilename)).toEqual(['b9a.mp3', 'b3a.mp3']);
    const all = await q.filesWithoutOpusKey({ now: NOW, olderThanMs: 0, limit: 1 });
    expect(all.count).toBe(3);
    expect(all.files.map((f) => f.audioFileId)).toEqual([ids.b9a]);
  });

  it('classificationRateByLabel gives the flagged share per policy version in the last 24 h', async () => {
    const rates = await q.classificationRateByLabel({ now: NOW });
    expect(rates).toEqual([
      {
        policyId: 'cope-hate',
        policyVersion: '1',
        classified: 9,
        flagged: 4,
        notFlagged: 5,
        flaggedRate: 4 / 9,
      },
      {
        policyId: 'cope-violence',
        policyVersion: '2',
        classified: 2,
        flagged: 1,
        notFlagged: 1,
        flaggedRate: 0.5,
      },
    ]);
  });

  it('reviewsPerReviewerPerDay counts labels by local day', async () => {
    expect(await q.reviewsPerReviewerPerDay({ days: 2, now: NOW })).toEqual([
      { day: '2025-06-22', username: 'alice', reviews: 1 },
      { day: '2025-06-22', username: 'bob', reviews: 1 },
      { day: '2025-06-23', username: 'alice', reviews: 2 },
      { day: '2025-06-23', username: 'bob', reviews: 1 },
    ]);
    expect(await q.reviewsPerReviewerPerDay({ days: 2, timeZone: 'Europe/Berlin', now: NOW })).toEqual([
      { day: '2025-06-22', username: 'bob', reviews: 1 },
      { day: '2025-06-23', username: 'alice', reviews: 3 },
      { day: '2025-06-23', username: 'bob', reviews: 1 },
    ]);
    const week = await q.reviewsPerReviewerPerDay({ now: NOW });
    expect(week[0]).toEqual({ day: '2025-06-21', username: 'carol', reviews: 1 });
  });
});
