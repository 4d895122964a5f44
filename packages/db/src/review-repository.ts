import { z } from 'zod';
import type { Db } from './db.js';
import { Prisma } from './generated/prisma/client.js';
import { LeaseNotHeldError, NothingToUndoError } from './errors.js';
import { parseInput } from './parse-input.js';
import { OPEN_TO_REVIEWER, QUEUE_COLUMNS, type RaQueueItem } from './reviewer-repository.js';

/** One timed piece of a transcript, as WhisperX returns it (seconds from the start of the file). */
export interface TranscriptSegment {
  start: number;
  end: number;
  text: string;
}

/** A queue item as the review page shows it: with the transcript's timed segments. */
export interface ReviewItem extends RaQueueItem {
  /** Empty for a transcript stored without usable segments: the page shows the plain text. */
  segments: TranscriptSegment[];
}

/**
 * Why a reviewer cannot go back to an item: another reviewer holds it, it is labelled, the reviewer
 * never held it (or skipped it), or it is not in the review queue at all.
 */
export type ResumeRefusal = 'held-by-another' | 'reviewed' | 'never-held' | 'not-in-queue';

export interface ReviewProgress {
  /** Items the queue could still hand this reviewer. */
  waiting: number;
  /** Items other reviewers hold right now. */
  heldByOthers: number;
  /** Labels this reviewer gave since the start of today (in the given time zone). */
  doneToday: number;
  skippedToday: number;
}

export interface RecentLabel {
  audioFileId: string;
  originalFilename: string;
  answers: Record<string, unknown>;
  notes: string | null;
  labelledAt: Date;
}

/** The reviewer's last submission, while its lease still allows it to be undone. */
export interface UndoableLabel {
  audioFileId: string;
  originalFilename: string;
  until: Date;
}

export interface UndoneLabel {
  audioFileId: string;
  answers: Record<string, unknown>;
  notes: string | null;
}

const uuid = z.uuid('must be a UUID');
const ids = z.object({ audioFileId: uuid, reviewerId: uuid });
const skipInput = ids.extend({
  reason: z.string().trim().min(1, 'must not be empty').max(500, 'must be at most 500 characters'),
});
const DEFAULT_LEASE_MS = 30 * 60_000;

const segmentShape = z.object({ start: z.number(), end: z.number(), text: z.string() });

/** Stored segments of any age or shape, reduced to what the page can use; anything else is dropped. */
export function readSegments(stored: unknown): TranscriptSegment[] {
  if (!Array.isArray(stored)) return [];
  const segments: TranscriptSegment[] = [];
  for (const entry of stored) {
    const parsed = segmentShape.safeParse(entry);
    if (parsed.success && parsed.data.end >= parsed.data.start) {
      segments.push({ start: parsed.data.start, end: parsed.data.end, text: parsed.data.text.trim() });
    }
  }
  return segments;
}

/**
 * The review page's work on one reviewer's items: the held item with its segments, going back to an
 * item (after a login), skipping with a reason, undoing the last label, progress and history.
 * Claiming and labelling are ReviewerRepository's.
 */
export class ReviewRepository {
  constructor(private readonly db: Db) {}

  /** The item if the reviewer holds a running lease on it, else null. */
  async heldItem(audioFileId: string, reviewerId: string): Promise<ReviewItem | null> {
    if (!ids.safeParse({ audioFileId, reviewerId }).success) return null;
    const rows = await this.db.prisma.$queryRaw<RaQueueItem[]>`
      SELECT ${QUEUE_COLUMNS} FROM ra_queue
      WHERE audio_file_id = ${audioFileId}::uuid AND assigned_reviewer_id = ${reviewerId}::uuid`;
    if (!rows[0]) return null;
    const transcript = await this.db.prisma.transcript.findUnique({
      where: { audioFileId },
      select: { segments: true },
    });
    return { ...rows[0], segments: readSegments(transcript?.segments) };
  }

  /** The item the reviewer holds a running lease on, if any (the oldest, should there be several). */
  async heldBy(reviewerId: string): Promise<string | null> {
    if (!uuid.safeParse(reviewerId).success) return null;
    const rows = await this.db.prisma.$queryRaw<{ id: string }[]>`
      SELECT audio_file_id::text AS id FROM ra_queue WHERE assigned_reviewer_id = ${reviewerId}::uuid
      ORDER BY flagged_at LIMIT 1`;
    return rows[0]?.id ?? null;
  }

  /**
   * Back to an item the reviewer was working on (a stale page, a login after the session ended): the
   * item if the reviewer still holds it, or leases it again when its lease ran out and nobody else has
   * taken it meanwhile. Never a file the reviewer did not hold before.
   */
  async resume(
    audioFileId: string,
    reviewerId: string,
    options: { leaseMs?: number } = {},
  ): Promise<{ item: ReviewItem } | { item: null; reason: ResumeRefusal }> {
    if (!ids.safeParse({ audioFileId, reviewerId }).success) return { item: null, reason: 'not-in-queue' };
    const held = await this.heldItem(audioFileId, reviewerId);
    if (held) return { item: held };
    const leaseMs = options.leaseMs ?? DEFAULT_LEASE_MS;
    await this.db.prisma.$executeRaw`
      UPDATE ra_assignments SET status = 'released', closed_at = now()
      WHERE status = 'open' AND lease_expires_at <= now()`;
    await this.db.prisma.$executeRaw`
      INSERT INTO ra_assignments (audio_file_id, reviewer_id, lease_expires_at)
      SELECT q.audio_file_id, ${reviewerId}::uuid, now() + ${leaseMs}::float8 * interval '1 millisecond'
      FROM ra_queue q WHERE q.audio_file_id = ${audioFileId}::uuid AND ${OPEN_TO_REVIEWER(reviewerId)}
        AND EXISTS (SELECT 1 FROM ra_assignments p WHERE p.audio_file_id = q.audio_file_id
                    AND p.reviewer_id = ${reviewerId}::uuid AND p.status = 'released')
      ON CONFLICT (audio_file_id) WHERE status = 'open' DO NOTHING`;
    const item = await this.heldItem(audioFileId, reviewerId);
    if (item) return { item };
    const [queued] = await this.db.prisma.$queryRaw<{ assigned: string | null }[]>`
      SELECT assigned_reviewer_id::text AS assigned FROM ra_queue WHERE audio_file_id = ${audioFileId}::uuid`;
    if (queued?.assigned) return { item: null, reason: 'held-by-another' };
    if (queued) return { item: null, reason: 'never-held' };
    const labelled = await this.db.prisma.raLabel.count({ where: { audioFileId } });
    return { item: null, reason: labelled > 0 ? 'reviewed' : 'not-in-queue' };
  }

  /**
   * Passes an item on with a reason: the lease closes as `skipped`, the item goes back to the queue
   * for the others and is never offered to this reviewer again. Without a running lease (it expired),
   * the skip is still recorded, so that the item is not offered again.
   */
  async skip(audioFileId: string, reviewerId: string, reason: string): Promise<void> {
    const data = parseInput(skipInput, { audioFileId, reviewerId, reason }, 'skip');
    const closed = await this.db.prisma.$executeRaw`
      UPDATE ra_assignments SET status = 'skipped', skip_reason = ${data.reason}, closed_at = now()
      WHERE audio_file_id = ${data.audioFileId}::uuid AND reviewer_id = ${data.reviewerId}::uuid
        AND status = 'open'`;
    if (closed > 0) return;
    const inserted = await this.db.prisma.$executeRaw`
      INSERT INTO ra_assignments (audio_file_id, reviewer_id, status, skip_reason, lease_expires_at, closed_at)
      SELECT id, ${data.reviewerId}::uuid, 'skipped', ${data.reason}, now(), now()
      FROM audio_files WHERE id = ${data.audioFileId}::uuid`;
    if (inserted === 0) throw new LeaseNotHeldError(data.audioFileId, data.reviewerId);
  }

  /** The reviewer's last submission if its lease is still running (so it may be undone). */
  async lastUndoable(reviewerId: string): Promise<UndoableLabel | null> {
    if (!uuid.safeParse(reviewerId).success) return null;
    const rows = await this.db.prisma.$queryRaw<(UndoableLabel & { running: boolean })[]>`
      SELECT a.audio_file_id::text AS "audioFileId", af.original_filename AS "originalFilename",
             a.lease_expires_at AS until, a.lease_expires_at > now() AS running
      FROM ra_assignments a JOIN audio_files af ON af.id = a.audio_file_id
      WHERE a.reviewer_id = ${reviewerId}::uuid AND a.status = 'submitted'
      ORDER BY a.closed_at DESC, a.id DESC LIMIT 1`;
    const last = rows[0];
    if (!last?.running) return null;
    return { audioFileId: last.audioFileId, originalFilename: last.originalFilename, until: last.until };
  }

  /**
   * Takes back the reviewer's last label while the lease it was given under still runs: the label is
   * deleted, the lease reopens (so the item is the reviewer's again, with the answers returned to fill
   * the form), and any item leased to the reviewer since goes back to the queue.
   */
  async undoLast(reviewerId: string): Promise<UndoneLabel> {
    parseInput(z.object({ reviewerId: uuid }), { reviewerId }, 'undo');
    const last = await this.lastUndoable(reviewerId);
    if (!last) {
      throw new NothingToUndoError('nothing to undo: no submission whose lease is still running');
    }
    try {
      return await this.db.prisma.$transaction(async (tx) => {
        await tx.raAssignment.updateMany({
          where: { reviewerId, status: 'open' },
          data: { status: 'released', closedAt: new Date() },
        });
        const reopened = await tx.$executeRaw`
          UPDATE ra_assignments SET status = 'open', closed_at = NULL
          WHERE id = (SELECT id FROM ra_assignments
                      WHERE reviewer_id = ${reviewerId}::uuid AND audio_file_id = ${last.audioFileId}::uuid
                        AND status = 'submitted' AND lease_expires_at > now()
                      ORDER BY closed_at DESC LIMIT 1)`;
        if (reopened === 0) throw new NothingToUndoError('nothing to undo: the lease has just run out');
        const label = await tx.raLabel.delete({
          where: { audioFileId_reviewerId: { audioFileId: last.audioFileId, reviewerId } },
        });
        return {
          audioFileId: last.audioFileId,
          answers: label.answers as Record<string, unknown>,
          notes: label.notes,
        };
      });
    } catch (error) {
      // The partial unique index: another reviewer holds the item now (a second review).
      if (error instanceof Prisma.PrismaClientKnownRequestError && /unique/i.test(error.message)) {
        throw new NothingToUndoError('nothing to undo: another reviewer holds the item now');
      }
      throw error;
    }
  }

  /** Counts for the page's progress line; "today" starts at midnight in `timeZone`. */
  async progress(reviewerId: string, timeZone: string): Promise<ReviewProgress> {
    parseInput(z.object({ reviewerId: uuid }), { reviewerId }, 'review progress');
    const dayStart = Prisma.sql`(date_trunc('day', now() AT TIME ZONE ${timeZone}) AT TIME ZONE ${timeZone})`;
    const rows = await this.db.prisma.$queryRaw<ReviewProgress[]>`
      SELECT
        (SELECT count(*)::int FROM ra_queue q WHERE ${OPEN_TO_REVIEWER(reviewerId)}) AS waiting,
        (SELECT count(*)::int FROM ra_queue q
         WHERE q.assigned_reviewer_id IS NOT NULL AND q.assigned_reviewer_id <> ${reviewerId}::uuid) AS "heldByOthers",
        (SELECT count(*)::int FROM ra_labels
         WHERE reviewer_id = ${reviewerId}::uuid AND updated_at >= ${dayStart}) AS "doneToday",
        (SELECT count(*)::int FROM ra_assignments
         WHERE reviewer_id = ${reviewerId}::uuid AND status = 'skipped' AND closed_at >= ${dayStart}) AS "skippedToday"`;
    return rows[0]!;
  }

  /** The reviewer's latest labels, newest first. */
  async recentLabels(reviewerId: string, limit = 10): Promise<RecentLabel[]> {
    if (!uuid.safeParse(reviewerId).success) return [];
    return this.db.prisma.$queryRaw<RecentLabel[]>`
      SELECT l.audio_file_id::text AS "audioFileId", af.original_filename AS "originalFilename",
             l.answers, l.notes, l.updated_at AS "labelledAt"
      FROM ra_labels l JOIN audio_files af ON af.id = l.audio_file_id
      WHERE l.reviewer_id = ${reviewerId}::uuid
      ORDER BY l.updated_at DESC, l.id DESC LIMIT ${Math.min(limit, 100)}`;
  }
}
