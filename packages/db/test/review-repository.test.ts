import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import {
  AudioFileRepository,
  BatchRepository,
  LeaseNotHeldError,
  NothingToUndoError,
  readSegments,
  ReviewerRepository,
  ReviewRepository,
  type RaUser,
} from '../src/index.js';
import { openFreshDb, SHA_A, type FreshDb } from './support/fresh-db.js';

const BATCH = '20250622-143052-c0ffee';

describe('ReviewRepository and the lease rules of labelling', () => {
  let fresh: FreshDb;
  let reviewers: ReviewerRepository;
  let review: ReviewRepository;
  let ann: RaUser;
  let ben: RaUser;
  const ids: Record<string, string> = {};
  const expireLeasesOf = (reviewerId: string) =>
    fresh.db.prisma.raAssignment.updateMany({
      where: { reviewerId, status: 'open' },
      data: { leaseExpiresAt: new Date(Date.now() - 1000) },
    });

  beforeAll(async () => {
    fresh = await openFreshDb();
    reviewers = new ReviewerRepository(fresh.db);
    review = new ReviewRepository(fresh.db);
    await new BatchRepository(fresh.db).create({
      batchId: BATCH,
      archiveKey: `archives/${BATCH}.tar`,
      sha256: SHA_A,
      sizeBytes: 1,
      source: 'inbox',
      transferredAt: new Date('2025-06-22T14:30:52Z'),
    });
    const files = new AudioFileRepository(fresh.db);
    for (const [name, flagged] of [
      ['one', true],
      ['two', true],
      ['three', true],
      ['clean', false],
    ] as const) {
      const { audioFileId } = await files.recordFileResult({
        batchId: BATCH,
        originalFilename: `${name}.mp3`,
        sizeBytes: 100,
        sha256: SHA_A,
        transcript: {
          text: `${name} first. ${name} second.`,
          language: 'en',
          // As WhisperX stores them, plus the kind of entry an old or odd row may hold.
          segments: [
            { start: 0, end: 1.5, text: ` ${name} first.`, words: [] },
            { start: 1.5, end: 3.25, text: ` ${name} second.` },
            { text: 'no times' },
          ],
          model: 'fixture',
        },
        classification: { policyId: 'p', policyVersion: '1', flagged, score: 0.8, model: 'fixture' },
      });
      await files.setOpusKey(audioFileId, `processed/2025-06-22/${audioFileId}.opus`);
      ids[name] = audioFileId;
    }
    ann = await reviewers.createUser({ username: 'ann', passwordHash: 'h', role: 'reviewer' });
    ben = await reviewers.createUser({ username: 'ben', passwordHash: 'h', role: 'reviewer' });
  });
  afterAll(() => fresh?.close());

  it('reads timed segments and drops entries without times', async () => {
    const item = await reviewers.claimNext(ann.id);
    expect(item?.audioFileId).toBe(ids.one);
    const held = await review.heldItem(ids.one!, ann.id);
    expect(held?.segments).toEqual([
      { start: 0, end: 1.5, text: 'one first.' },
      { start: 1.5, end: 3.25, text: 'one second.' },
    ]);
    expect(await review.heldItem(ids.one!, ben.id)).toBeNull();
    expect(readSegments(null)).toEqual([]);
    expect(readSegments('text')).toEqual([]);
  });

  it('stores a label only from the lease holder: not after the lease expired, not for a file never held', async () => {
    await expireLeasesOf(ann.id);
    expect((await reviewers.claimNext(ben.id))?.audioFileId).toBe(ids.one);
    await expect(
      reviewers.submitLabel({ audioFileId: ids.one!, reviewerId: ann.id, answers: { violatesPolicy: 'no' } }),
    ).rejects.toThrow(LeaseNotHeldError);
    await reviewers.submitLabel({
      audioFileId: ids.one!,
      reviewerId: ben.id,
      answers: { violatesPolicy: 'yes' },
    });
    for (const never of [ids.clean!, ids.three!]) {
      await expect(
        reviewers.submitLabel({ audioFileId: never, reviewerId: ann.id, answers: { violatesPolicy: 'yes' } }),
      ).rejects.toThrow(LeaseNotHeldError);
    }
    const labels = await fresh.db.prisma.raLabel.findMany({
      where: { audioFileId: { in: Object.values(ids) } },
    });
    expect(labels.map((l) => [l.audioFileId, l.reviewerId])).toEqual([[ids.one, ben.id]]);
  });

  it('an expired lease can be resumed while nobody else took it; not once another reviewer holds it', async () => {
    expect((await reviewers.claimNext(ann.id))?.audioFileId).toBe(ids.two);
    await expireLeasesOf(ann.id);
    const again = await review.resume(ids.two!, ann.id);
    expect(again.item?.audioFileId).toBe(ids.two);
    await expireLeasesOf(ann.id);
    expect((await reviewers.claimNext(ben.id))?.audioFileId).toBe(ids.two);
    expect(await review.resume(ids.two!, ann.id)).toEqual({ item: null, reason: 'held-by-another' });
    expect(await review.resume(ids.one!, ann.id)).toEqual({ item: null, reason: 'reviewed' });
    expect(await review.resume(ids.clean!, ann.id)).toEqual({ item: null, reason: 'not-in-queue' });
    expect(await review.resume(ids.three!, ann.id)).toEqual({ item: null, reason: 'never-held' });
    expect(await review.heldBy(ben.id)).toBe(ids.two);
    expect(await review.heldBy(ann.id)).toBeNull();
    await reviewers.release(ids.two!, ben.id);
  });

  it('a skipped item is never offered to that reviewer again, but is to the others', async () => {
    expect((await reviewers.claimNext(ann.id))?.audioFileId).toBe(ids.two);
    await review.skip(ids.two!, ann.id, 'audio does not load');
    expect((await reviewers.claimNext(ann.id))?.audioFileId).toBe(ids.three);
    await reviewers.release(ids.three!, ann.id);
    expect((await reviewers.claimNext(ann.id))?.audioFileId).toBe(ids.three);
    expect((await reviewers.claimNext(ben.id))?.audioFileId).toBe(ids.two);
    await expect(review.skip(ids.two!, ann.id, '  ')).rejects.toThrow(/skip: reason must not be empty/);
    const skipped = await fresh.db.prisma.raAssignment.findMany({
      where: { reviewerId: ann.id, status: 'skipped' },
    });
    expect(skipped.map((s) => [s.audioFileId, s.skipReason])).toEqual([[ids.two, 'audio does not load']]);
    await reviewers.release(ids.two!, ben.id);
  });

  it('undoes the last label while its lease runs: the label goes, the lease comes back, the next item is released', async () => {
    // ann holds `three`.
    await reviewers.submitLabel({
      audioFileId: ids.three!,
      reviewerId: ann.id,
      answers: { violatesPolicy: 'unsure', category: 'other' },
      notes: 'first thought',
    });
    expect(await review.lastUndoable(ann.id)).toMatchObject({
      audioFileId: ids.three,
      originalFilename: 'three.mp3',
    });
    expect((await review.progress(ann.id, 'Europe/Berlin')).doneToday).toBe(1);
    const undone = await review.undoLast(ann.id);
    expect(undone).toEqual({
      audioFileId: ids.three,
      answers: { violatesPolicy: 'unsure', category: 'other' },
      notes: 'first thought',
    });
    expect((await review.heldItem(ids.three!, ann.id))?.audioFileId).toBe(ids.three);
    await expect(review.undoLast(ann.id)).rejects.toThrow(NothingToUndoError);
    await reviewers.submitLabel({
      audioFileId: ids.three!,
      reviewerId: ann.id,
      answers: { violatesPolicy: 'yes' },
    });
    await fresh.db.prisma.raAssignment.updateMany({
      where: { reviewerId: ann.id, audioFileId: ids.three },
      data: { leaseExpiresAt: new Date(Date.now() - 1000) },
    });
    expect(await review.lastUndoable(ann.id)).toBeNull();
    await expect(review.undoLast(ann.id)).rejects.toThrow(/no submission whose lease is still running/);
  });

  it('counts progress and lists recent labels', async () => {
    expect(await review.progress(ann.id, 'UTC')).toEqual({
      waiting: 0,
      heldByOthers: 0,
      doneToday: 1,
      skippedToday: 1,
    });
    expect(await review.progress(ben.id, 'UTC')).toEqual({
      waiting: 1,
      heldByOthers: 0,
      doneToday: 1,
      skippedToday: 0,
    });
    const recent = await review.recentLabels(ann.id);
    expect(recent.map((r) => [r.originalFilename, r.answers])).toEqual([
      ['three.mp3', { violatesPolicy: 'yes' }],
    ]);
  });

  it('a deactivated reviewer claims nothing and its running leases go back to the queue', async () => {
    expect((await reviewers.claimNext(ben.id))?.audioFileId).toBe(ids.two);
    await reviewers.setActive(ben.id, false);
    expect(await fresh.db.prisma.raAssignment.count({ where: { reviewerId: ben.id, status: 'open' } })).toBe(
      0,
    );
    expect(await reviewers.claimNext(ben.id)).toBeNull();
    expect((await review.resume(ids.two!, ben.id)).item).toBeNull();
  });
});
