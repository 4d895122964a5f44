import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import {
  AudioFileRepository,
  BatchNotFoundError,
  BatchRepository,
  BatchStateError,
  ConflictingRecordError,
  DbInputError,
  FailureRepository,
  type CreateBatchInput,
} from '../src/index.js';
import { openFreshDb, SHA_A, SHA_B, type FreshDb } from './support/fresh-db.js';

function batch(batchId: string, overrides: Partial<CreateBatchInput> = {}): CreateBatchInput {
  return {
    batchId,
    archiveKey: `archives/${batchId}.tar`,
    sha256: SHA_A,
    sizeBytes: 5_000_000_000n,
    source: 'sftp',
    transferredAt: new Date('2025-06-22T14:30:52Z'),
    ...overrides,
  };
}

describe('BatchRepository', () => {
  let fresh: FreshDb;
  let batches: BatchRepository;

  beforeAll(async () => {
    fresh = await openFreshDb();
    batches = new BatchRepository(fresh.db);
  });
  afterAll(() => fresh?.close());

  it('creates a batch once: a repeat, even concurrent, returns the same row', async () => {
    const id = '20250622-143052-a1b2c3';
    const created = await Promise.all([1, 2, 3, 4, 5].map(() => batches.create(batch(id, { fileCount: 3 }))));

    expect(new Set(created.map((b) => b.createdAt.getTime())).size).toBe(1);
    expect(created[0]).toMatchObject({
      batchId: id,
      status: 'transferred',
      sizeBytes: 5_000_000_000n,
      fileCount: 3,
    });
    expect(await fresh.db.prisma.batch.count({ where: { batchId: id } })).toBe(1);
  });

  it('refuses a repeat with another archive, and bad input by name', async () => {
    await expect(batches.create(batch('20250622-143052-a1b2c3', { sha256: SHA_B }))).rejects.toThrow(
      ConflictingRecordError,
    );
    await expect(batches.create(batch('20250622-150000-000001', { sha256: 'xyz' }))).rejects.toThrow(
      'create batch: sha256 must be 64 lowercase hex digits',
    );
    await expect(batches.create(batch('20250622-150000-000001', { sizeBytes: -1 }))).rejects.toThrow(
      DbInputError,
    );
    await expect(
      batches.create(batch('20250622-150000-000001', { transferredAt: 'yesterday' })),
    ).rejects.toThrow('create batch: transferredAt must be a Date or an ISO 8601 timestamp');
    expect(await batches.get('20250622-150000-000001')).toBeNull();
  });

  it('walks the lifecycle and records host, times and counts', async () => {
    const id = '20250622-160000-bbbbbb';
    await batches.create(batch(id));

    const unpacking = await batches.markUnpacking(id, 'gpu-1');
    expect(unpacking).toMatchObject({ status: 'unpacking', host: 'gpu-1' });
    expect(unpacking.unpackingAt).toBeInstanceOf(Date);

    const unpacked = await batches.markUnpacked(id, { fileCount: 4 });
    expect(unpacked).toMatchObject({ status: 'unpacked', fileCount: 4 });

    const complete = await batches.markComplete(id, { succeeded: 3, failed: 1 });
    expect(complete).toMatchObject({ status: 'complete', succeededCount: 3, failedCount: 1 });
    const again = await batches.markComplete(id, { succeeded: 3, failed: 1 });
    expect(again.completedAt).toEqual(complete.completedAt);

    await expect(batches.markFailed(id, { code: 'late', message: 'too late' })).rejects.toThrow(
      new BatchStateError(id, 'complete', 'mark it failed'),
    );
    await expect(batches.markUnpacked(id, { fileCount: 4 })).rejects.toThrow(BatchStateError);
  });

  it('lets a replay start over from any status, clearing the previous outcome', async () => {
    const id = '20250622-170000-cccccc';
    await batches.create(batch(id));
    await batches.markUnpacking(id, 'gpu-1');
    const failed = await batches.markFailed(id, { code: 'host_lost', message: 'gpu-1 stopped answering' });
    expect(failed).toMatchObject({ status: 'failed', errorCode: 'host_lost' });

    const replay = await batches.markUnpacking(id, 'gpu-2');
    expect(replay).toMatchObject({ status: 'unpacking', host: 'gpu-2', errorCode: null, errorMessage: null });
  });

  it('keeps the first completion through a replay and records each run (issue 16, bug 1)', async () => {
    const id = '20250622-171500-c0ffee';
    await batches.create(batch(id, { transferredAt: new Date('2025-06-01T00:00:00Z') }));
    await batches.markUnpacking(id, 'gpu-1');
    await batches.markUnpacked(id, { fileCount: 4 });
    const first = await batches.markComplete(id, { succeeded: 4, failed: 0 });

    const replaying = await batches.markUnpacking(id, 'gpu-2', { run: 1_750_000_000 });
    expect(replaying).toMatchObject({ status: 'unpacking', host: 'gpu-2', completedAt: first.completedAt });
    await batches.markUnpacked(id, { fileCount: 4 });
    const again = await batches.markComplete(id, { succeeded: 4, failed: 0 });
    expect(again.status).toBe('complete');
    expect(again.completedAt).toEqual(first.completedAt);

    const runs = await batches.runs(id);
    expect(runs.map((r) => [r.run, r.host, r.status, r.scope])).toEqual([
      [0, 'gpu-1', 'complete', 'all'],
      [1_750_000_000, 'gpu-2', 'complete', 'all'],
    ]);
    expect(runs[0]!.finishedAt).toEqual(first.completedAt);
    expect(runs[1]!.finishedAt!.getTime()).toBeGreaterThanOrEqual(first.completedAt!.getTime());
  });

  it("stops a failed batch's clock (bug 3) and starts it again on a replay", async () => {
    const id = '20250622-171600-c0ffee';
    await batches.create(batch(id, { transferredAt: new Date('2025-06-01T00:00:00Z') }));
    await batches.markUnpacking(id, 'gpu-1');
    const failed = await batches.markFailed(id, { code: 'truncated_archive', message: 'cut short' });
    expect(failed.failedAt).toBeInstanceOf(Date);
    expect((await batches.runs(id))[0]).toMatchObject({ status: 'failed', errorCode: 'truncated_archive' });
    const replay = await batches.markUnpacking(id, 'gpu-2', { run: 7 });
    expect(replay.failedAt).toBeNull();
  });

  it('names a missing batch', async () => {
    await expect(batches.markUnpacking('20990101-000000-ffffff', 'gpu-1')).rejects.toThrow(
      new BatchNotFoundError('20990101-000000-ffffff'),
    );
    await expect(batches.progress('20990101-000000-ffffff')).rejects.toThrow(BatchNotFoundError);
  });

  it('lists by status, newest first, with paging', async () => {
    const fromPayload = await batches.create(
      batch('20250623-010000-dddddd', { transferredAt: '2025-06-23T03:00:00+02:00' }),
    );
    expect(fromPayload.transferredAt).toEqual(new Date('2025-06-23T01:00:00Z'));
    const transferred = await batches.list({ status: 'transferred' });
    expect(transferred.map((b) => b.batchId)).toEqual(['20250623-010000-dddddd', '20250622-143052-a1b2c3']);
    const page = await batches.list({ limit: 2, offset: 1 });
    expect(page.map((b) => b.batchId)).toEqual(['20250622-170000-cccccc', '20250622-160000-bbbbbb']);
  });

  it('reports progress from recorded files and failures', async () => {
    const id = '20250623-020000-eeeeee';
    await batches.create(batch(id));
    await batches.markUnpacking(id, 'gpu-1');
    await batches.markUnpacked(id, { fileCount: 5 });
    const files = new AudioFileRepository(fresh.db);
    for (const name of ['1.mp3', '2.mp3']) {
      await files.recordFileResult({
        batchId: id,
        originalFilename: name,
        sizeBytes: 10,
        sha256: SHA_A,
        transcript: { text: '', language: 'en', segments: [], model: 'fixture' },
        classification: { policyId: 'p', policyVersion: '1', flagged: false, score: 0, model: 'fixture' },
      });
    }
    const failures = new FailureRepository(fresh.db);
    // Two stages of one entry count as one failed file.
    await failures.record({
      batchId: id,
      entry: '3.mp3',
      stage: 'convert',
      reasonCode: 'decode_error',
      message: 'x',
      attempts: 3,
    });
    await failures.record({
      batchId: id,
      entry: '3.mp3',
      stage: 'transcribe',
      reasonCode: 'timeout',
      message: 'y',
      attempts: 1,
    });

    // Refused by unpack (not among the 5 files), and a file that failed once, then succeeded.
    for (const [entry, stage] of [
      ['README.txt', 'unpack'],
      ['evil/../x.mp3', 'unpack'],
      ['1.mp3', 'transcribe'],
    ] as const)
      await failures.record({ batchId: id, entry, stage, reasonCode: 'x', message: 'x', attempts: 1 });

    // Issue 16, bug 4: refused entries are part of the total (7 entries, not 5).
    expect(await batches.progress(id)).toEqual({
      batchId: id,
      status: 'unpacked',
      fileCount: 5,
      totalEntries: 7,
      filesDone: 2,
      filesFailed: 3,
      entriesRefused: 2,
      filesRemaining: 2,
    });
  });

  it('finds the first batch of an archive by its sha256', async () => {
    const first = await batches.create(
      batch('20250622-171700-d00d00', {
        sha256: 'e'.repeat(64),
        transferredAt: new Date('2025-06-22T10:00:00Z'),
      }),
    );
    await batches.create(
      batch('20250622-171800-d00d00', {
        sha256: 'e'.repeat(64),
        transferredAt: new Date('2025-06-22T11:00:00Z'),
      }),
    );
    expect((await batches.findBySha256('e'.repeat(64)))?.batchId).toBe(first.batchId);
    expect(await batches.findBySha256('f'.repeat(64))).toBeNull();
  });
});
