import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import {
  AudioFileRepository,
  BatchRepository,
  ReviewerRepository,
  UsernameTakenError,
  type RaUser,
} from '../src/index.js';
import { openFreshDb, SHA_A, type FreshDb } from './support/fresh-db.js';

const BATCH = '20250622-143052-a1b2c3';

describe('ReviewerRepository', () => {
  let fresh: FreshDb;
  let reviewers: ReviewerRepository;
  let alice: RaUser;
  let bob: RaUser;
  const ids: Record<string, string> = {};

  beforeAll(async () => {
    fresh = await openFreshDb();
    reviewers = new ReviewerRepository(fresh.db);
    await new BatchRepository(fresh.db).create({
      batchId: BATCH,
      archiveKey: `archives/${BATCH}.tar`,
      sha256: SHA_A,
      sizeBytes: 1,
      source: 'inbox',
      transferredAt: new Date('2025-06-22T14:30:52Z'),
    });
    const files = new AudioFileRepository(fresh.db);
    // Recorded in this order, so flagged_at orders them: early, late; `clean` is not flagged.
    for (const [name, flagged, score] of [
      ['early', true, 0.7],
      ['clean', false, 0.1],
      ['late', true, 0.9],
    ] as const) {
      const { audioFileId } = await files.recordFileResult({
        batchId: BATCH,
        originalFilename: `${name}.mp3`,
        sizeBytes: 100,
        sha256: SHA_A,
        transcript: { text: `${name} words`, language: 'en', segments: [], model: 'fixture' },
        classification: { policyId: 'cope-hate', policyVersion: '1', flagged, score, model: 'fixture' },
      });
      await files.setOpusKey(audioFileId, `processed/2025-06-22/${audioFileId}.opus`);
      ids[name] = audioFileId;
    }
    alice = await reviewers.createUser({
      username: 'alice',
      passwordHash: '$argon2id$v=19$m=65536,t=3,p=4$x$y',
      role: 'reviewer',
    });
    bob = await reviewers.createUser({ username: 'bob', passwordHash: '$argon2id$hash', role: 'reviewer' });
  });
  afterAll(() => fresh?.close());

  it('creates users once and finds them by username', async () => {
    await expect(
      reviewers.createUser({ username: 'alice', passwordHash: 'h', role: 'admin' }),
    ).rejects.toThrow(UsernameTakenError);
    expect(await reviewers.findByUsername('alice')).toMatchObject({
      id: alice.id,
      role: 'reviewer',
      active: true,
    });
    expect(await reviewers.findByUsername('nobody')).toBeNull();
    expect((await reviewers.setActive(bob.id, false)).active).toBe(false);
    await reviewers.setActive(bob.id, true);
    expect((await reviewers.listUsers()).map((u) => u.username)).toEqual(['alice', 'bob']);
  });

  it('queues flagged, unreviewed files with transcript, score and opus key', async () => {
    const queue = await reviewers.queue();
    expect(queue.map((q) => [q.originalFilename, q.transcript, q.score, q.policyIds])).toEqual([
      ['early.mp3', 'early words', 0.7, ['cope-hate']],
      ['late.mp3', 'late words', 0.9, ['cope-hate']],
    ]);
    expect(queue[0]!.s3OpusPath).toBe(`processed/2025-06-22/${ids.early}.opus`);
  });

  it('leases each file to one reviewer, even when they claim at once', async () => {
    const [a, b] = await Promise.all([reviewers.claimNext(alice.id), reviewers.claimNext(bob.id)]);

    expect(new Set([a?.audioFileId, b?.audioFileId])).toEqual(new Set([ids.early, ids.late]));
    // Asking again returns the lease already held instead of a new file.
    expect((await reviewers.claimNext(alice.id))?.audioFileId).toBe(a?.audioFileId);
    const carol = await reviewers.createUser({ username: 'carol', passwordHash: 'h', role: 'reviewer' });
    expect(await reviewers.claimNext(carol.id)).toBeNull();
    await reviewers.release(a!.audioFileId, alice.id);
    expect((await reviewers.claimNext(carol.id))?.audioFileId).toBe(a?.audioFileId);
  });

  it('a submitted label takes the file out of the queue and closes the lease', async () => {
    const held = await reviewers.claimNext(bob.id);
    const label = await reviewers.submitLabel({
      audioFileId: held!.audioFileId,
      reviewerId: bob.id,
      answers: { q1: 'yes', q2: ['threat'] },
      notes: 'clear case',
    });

    expect(label.answers).toEqual({ q1: 'yes', q2: ['threat'] });
    expect((await reviewers.queue()).map((q) => q.audioFileId)).not.toContain(held!.audioFileId);
    const assignments = await fresh.db.prisma.raAssignment.findMany({
      where: { audioFileId: held!.audioFileId, reviewerId: bob.id },
    });
    expect(assignments.map((a) => a.status)).toEqual(['submitted']);
  });

  it('an expired lease goes back to the queue', async () => {
    const dave = await reviewers.createUser({ username: 'dave', passwordHash: 'h', role: 'reviewer' });
    const carol = (await reviewers.findByUsername('carol'))!;
    const held = await reviewers.claimNext(carol.id);
    expect(held).not.toBeNull();
    await fresh.db.prisma.raAssignment.updateMany({
      where: { reviewerId: carol.id, status: 'open' },
      data: { leaseExpiresAt: new Date(Date.now() - 1000) },
    });

    expect((await reviewers.claimNext(dave.id))?.audioFileId).toBe(held!.audioFileId);
    const statuses = await fresh.db.prisma.raAssignment.findMany({
      where: { audioFileId: held!.audioFileId },
      orderBy: { id: 'asc' },
      select: { status: true },
    });
    expect(statuses.map((s) => s.status)).toEqual(['released', 'released', 'open']);
  });
});
