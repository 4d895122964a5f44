import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import {
  AudioFileRepository,
  BatchRepository,
  ConflictingRecordError,
  PolicyNotFoundError,
  PolicyRepository,
  ReviewerRepository,
  reviewDraw,
  type RaUser,
} from '../src/index.js';
import { openFreshDb, SHA_A, type FreshDb } from './support/fresh-db.js';

const BATCH = '20250622-143052-d4e5f6';
const SHA_V1 = '1'.repeat(64);
const SHA_V2 = '2'.repeat(64);

describe('PolicyRepository and the review sampling of ra_queue', () => {
  let fresh: FreshDb;
  let policies: PolicyRepository;
  let reviewers: ReviewerRepository;
  let alice: RaUser;
  let bob: RaUser;
  /** audio file id → flagged under v1 */
  const files = new Map<string, boolean>();

  beforeAll(async () => {
    fresh = await openFreshDb();
    policies = new PolicyRepository(fresh.db);
    reviewers = new ReviewerRepository(fresh.db);
    await new BatchRepository(fresh.db).create({
      batchId: BATCH,
      archiveKey: `archives/${BATCH}.tar`,
      sha256: SHA_A,
      sizeBytes: 1,
      source: 'inbox',
      transferredAt: new Date('2025-06-22T14:30:52Z'),
    });
    const audioFiles = new AudioFileRepository(fresh.db);
    for (let n = 0; n < 120; n++) {
      const flagged = n % 3 === 0;
      const { audioFileId } = await audioFiles.recordFileResult({
        batchId: BATCH,
        originalFilename: `f${n}.mp3`,
        sizeBytes: 100,
        sha256: SHA_A,
        transcript: { text: `file ${n}`, language: 'en', segments: [], model: 'fixture' },
        classification: {
          policyId: 'vt',
          policyVersion: 'v1',
          flagged,
          score: flagged ? 0.9 : 0.1,
          model: 'fixture',
        },
      });
      await audioFiles.setOpusKey(audioFileId, `processed/2025-06-22/${audioFileId}.opus`);
      files.set(audioFileId, flagged);
    }
    alice = await reviewers.createUser({ username: 'alice', passwordHash: 'h', role: 'reviewer' });
    bob = await reviewers.createUser({ username: 'bob', passwordHash: 'h', role: 'reviewer' });
  });
  afterAll(() => fresh?.close());

  it('stores a version once; the same version with other bytes is refused', async () => {
    const first = await policies.add({
      id: 'vt',
      version: 'v1',
      sha256: SHA_V1,
      text: '{"v":1}',
      title: 'VT',
    });
    expect(first.created).toBe(true);
    expect(
      (await policies.add({ id: 'vt', version: 'v1', sha256: SHA_V1, text: '{"v":1}', title: 'VT' })).created,
    ).toBe(false);
    await expect(
      policies.add({ id: 'vt', version: 'v1', sha256: SHA_V2, text: '{"v":2}', title: 'VT' }),
    ).rejects.toThrow(ConflictingRecordError);
    await policies.add({ id: 'vt', version: 'v2', sha256: SHA_V2, text: '{"v":2}', title: 'VT' });
    await expect(policies.find('v3')).rejects.toThrow(PolicyNotFoundError);
    expect((await policies.find('vt@v2')).sha256).toBe(SHA_V2);
  });

  it('keeps one version active', async () => {
    expect(await policies.active()).toBeNull();
    await policies.activate('vt', 'v2');
    await policies.activate('vt', 'v1');
    expect((await policies.list()).map((p) => [p.version, p.active, p.classified, p.flagged])).toEqual([
      ['v2', false, 0, 0],
      ['v1', true, 120, 40],
    ]);
  });

  it('queues every flagged file, and the control sample of unflagged ones drawn by file id', async () => {
    await policies.setSampling('vt', 'v1', { doubleReviewShare: 0.3, controlShare: 0.25 });
    const queue = await fresh.db.prisma.$queryRaw<{ id: string; sample: string; required: number }[]>`
      SELECT audio_file_id::text AS id, sample, reviews_required AS required FROM ra_queue`;
    const expected = [...files].flatMap(([id, flagged]) => {
      const draw = reviewDraw(id);
      if (flagged) return [{ id, sample: draw < 0.3 ? 'double' : 'flagged', required: draw < 0.3 ? 2 : 1 }];
      return draw < 0.25 ? [{ id, sample: 'control', required: 1 }] : [];
    });
    const byId = (a: { id: string }, b: { id: string }) => a.id.localeCompare(b.id);
    expect(queue.sort(byId)).toEqual(expected.sort(byId));
    // The shares select some of each kind (the draw is uniform; 40 flagged, 80 unflagged files).
    expect(expected.filter((e) => e.sample === 'double').length).toBeGreaterThan(3);
    expect(expected.filter((e) => e.sample === 'control').length).toBeGreaterThan(5);
  });

  it('a double-review file goes to a second reviewer, never twice to the same one', async () => {
    const [double] = await fresh.db.prisma.$queryRaw<{ id: string }[]>`
      SELECT audio_file_id::text AS id FROM ra_queue WHERE sample = 'double' ORDER BY flagged_at, audio_file_id LIMIT 1`;
    // Everything else is labelled by two others, so the double-review file is what is left.
    const carol = await reviewers.createUser({ username: 'carol', passwordHash: 'h', role: 'reviewer' });
    for (const other of [bob.id, carol.id]) {
      await fresh.db.prisma.$executeRaw`
        INSERT INTO ra_labels (audio_file_id, reviewer_id, answers, updated_at)
        SELECT audio_file_id, ${other}::uuid, '{}', now() FROM ra_queue
        WHERE audio_file_id <> ${double!.id}::uuid AND NOT (${other}::uuid = ANY (reviewed_by))`;
    }
    expect((await reviewers.claimNext(alice.id))?.audioFileId).toBe(double!.id);
    await reviewers.submitLabel({
      audioFileId: double!.id,
      reviewerId: alice.id,
      answers: { violatesPolicy: 'yes' },
    });

    // Still waiting for its second review, but not for alice.
    expect((await reviewers.queue()).map((q) => q.audioFileId)).toContain(double!.id);
    expect(await reviewers.claimNext(alice.id)).toBeNull();
    const second = await reviewers.claimNext(bob.id);
    expect(second?.audioFileId).toBe(double!.id);
    await reviewers.submitLabel({
      audioFileId: double!.id,
      reviewerId: bob.id,
      answers: { violatesPolicy: 'no' },
    });
    expect((await reviewers.queue()).map((q) => q.audioFileId)).not.toContain(double!.id);
  });

  it('the queue follows the active version', async () => {
    await policies.activate('vt', 'v2');
    expect(await reviewers.queue()).toEqual([]); // nothing was classified under v2
  });
});
