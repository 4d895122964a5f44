import { z } from 'zod';
import type { Db } from './db.js';
import { Prisma } from './generated/prisma/client.js';
import type { RaLabel, RaRole, RaUser } from './generated/prisma/client.js';
import { LeaseNotHeldError, UsernameTakenError } from './errors.js';
import { parseInput } from './parse-input.js';

export const RA_ROLES = ['admin', 'ops', 'viewer', 'reviewer'] as const satisfies readonly RaRole[];

const text = z.string().trim().min(1, 'must not be empty');
const uuid = z.uuid('must be a UUID');

const userInput = z.object({
  username: text.max(64, 'must be at most 64 characters'),
  passwordHash: text,
  role: z.enum(RA_ROLES, `must be one of ${RA_ROLES.join(', ')}`),
});
export type CreateUserInput = z.input<typeof userInput>;

const labelInput = z.object({
  audioFileId: uuid,
  reviewerId: uuid,
  answers: z.record(z.string(), z.unknown(), 'must be an object of codebook answers'),
  notes: z.string().nullish(),
});
export type SubmitLabelInput = z.input<typeof labelInput>;

/** One row of the `ra_queue` view: a flagged file waiting for review. */
export interface RaQueueItem {
  audioFileId: string;
  batchId: string;
  originalFilename: string;
  s3OpusPath: string | null;
  durationSeconds: number | null;
  transcript: string | null;
  language: string | null;
  /** Highest score among the policies that flagged it. */
  score: number;
  policyIds: string[];
  flaggedAt: Date;
  assignedReviewerId: string | null;
  leaseExpiresAt: Date | null;
}

const DEFAULT_LEASE_MS = 30 * 60_000;

/** The view's columns under the names of RaQueueItem. */
export const QUEUE_COLUMNS = Prisma.sql`
  audio_file_id::text AS "audioFileId", batch_id AS "batchId", original_filename AS "originalFilename",
  s3_opus_path AS "s3OpusPath", duration_seconds AS "durationSeconds", transcript, language,
  score, policy_ids AS "policyIds", flagged_at AS "flaggedAt",
  assigned_reviewer_id::text AS "assignedReviewerId", lease_expires_at AS "leaseExpiresAt"`;

/**
 * What the queue may offer a reviewer: unleased, with its Opus copy, not skipped or labelled by this
 * reviewer before, and only while the account is active. `q` is the ra_queue row.
 */
export const OPEN_TO_REVIEWER = (reviewerId: string) => Prisma.sql`
  q.assigned_reviewer_id IS NULL AND q.s3_opus_path IS NOT NULL
  AND EXISTS (SELECT 1 FROM ra_users u WHERE u.id = ${reviewerId}::uuid AND u.active)
  AND NOT EXISTS (SELECT 1 FROM ra_assignments s WHERE s.reviewer_id = ${reviewerId}::uuid
                  AND s.audio_file_id = q.audio_file_id AND s.status = 'skipped')
  AND NOT EXISTS (SELECT 1 FROM ra_labels l WHERE l.reviewer_id = ${reviewerId}::uuid
                  AND l.audio_file_id = q.audio_file_id)`;

/** Dashboard accounts and the research assistants' review work: queue, leases, labels. */
export class ReviewerRepository {
  constructor(private readonly db: Db) {}

  /** `passwordHash` is already hashed (argon2, by the dashboard); this package never sees a password. */
  async createUser(input: CreateUserInput): Promise<RaUser> {
    const data = parseInput(userInput, input, 'create user');
    const { count } = await this.db.prisma.raUser.createMany({ data: [data], skipDuplicates: true });
    if (count === 0) throw new UsernameTakenError(data.username);
    return this.db.prisma.raUser.findUniqueOrThrow({ where: { username: data.username } });
  }

  findByUsername(username: string): Promise<RaUser | null> {
    return this.db.prisma.raUser.findUnique({ where: { username } });
  }

  findById(userId: string): Promise<RaUser | null> {
    if (!uuid.safeParse(userId).success) return Promise.resolve(null);
    return this.db.prisma.raUser.findUnique({ where: { id: userId } });
  }

  listUsers(): Promise<RaUser[]> {
    return this.db.prisma.raUser.findMany({ orderBy: { username: 'asc' } });
  }

  /** A deactivated account's running leases go back to the queue at once, not when they expire. */
  setActive(userId: string, active: boolean): Promise<RaUser> {
    return this.db.prisma.$transaction(async (tx) => {
      const user = await tx.raUser.update({ where: { id: userId }, data: { active } });
      if (!active) {
        await tx.raAssignment.updateMany({
          where: { reviewerId: userId, status: 'open' },
          data: { status: 'released', closedAt: new Date() },
        });
      }
      return user;
    });
  }

  setRole(userId: string, role: RaRole): Promise<RaUser> {
    const valid = parseInput(userInput.pick({ role: true }), { role }, 'set role');
    return this.db.prisma.raUser.update({ where: { id: userId }, data: { role: valid.role } });
  }

  setPasswordHash(userId: string, passwordHash: string): Promise<RaUser> {
    const valid = parseInput(userInput.pick({ passwordHash: true }), { passwordHash }, 'set password');
    return this.db.prisma.raUser.update({
      where: { id: userId },
      data: { passwordHash: valid.passwordHash },
    });
  }

  /** The review queue, oldest flagged first. */
  async queue(options: { limit?: number; offset?: number } = {}): Promise<RaQueueItem[]> {
    const limit = Math.min(options.limit ?? 50, 1000);
    const offset = options.offset ?? 0;
    return this.db.prisma.$queryRaw<RaQueueItem[]>`
      SELECT ${QUEUE_COLUMNS} FROM ra_queue
      ORDER BY flagged_at, audio_file_id LIMIT ${limit} OFFSET ${offset}`;
  }

  /**
   * Leases the oldest waiting file that has its Opus copy and no running lease to the reviewer, or
   * returns the lease the reviewer already holds. Null when nothing is waiting for this reviewer (files
   * it skipped or labelled are never offered to it again) or when the account is not active. Two
   * reviewers never get the same file: the partial unique index on open assignments decides, and the
   * loser tries the next.
   */
  async claimNext(reviewerId: string, options: { leaseMs?: number } = {}): Promise<RaQueueItem | null> {
    parseInput(z.object({ reviewerId: uuid }), { reviewerId }, 'claim next');
    const leaseMs = options.leaseMs ?? DEFAULT_LEASE_MS;
    await this.releaseExpiredLeases();
    const held = await this.db.prisma.$queryRaw<RaQueueItem[]>`
      SELECT ${QUEUE_COLUMNS} FROM ra_queue WHERE assigned_reviewer_id = ${reviewerId}::uuid
      ORDER BY flagged_at LIMIT 1`;
    if (held[0]) return held[0];
    for (let attempt = 0; attempt < 5; attempt++) {
      const claimed = await this.db.prisma.$queryRaw<{ audio_file_id: string }[]>`
        INSERT INTO ra_assignments (audio_file_id, reviewer_id, lease_expires_at)
        SELECT q.audio_file_id, ${reviewerId}::uuid, now() + ${leaseMs}::float8 * interval '1 millisecond'
        FROM ra_queue q
        WHERE ${OPEN_TO_REVIEWER(reviewerId)}
        ORDER BY q.flagged_at, q.audio_file_id
        LIMIT 1
        ON CONFLICT (audio_file_id) WHERE status = 'open' DO NOTHING
        RETURNING audio_file_id::text`;
      const audioFileId = claimed[0]?.audio_file_id;
      if (audioFileId) {
        const rows = await this.db.prisma.$queryRaw<RaQueueItem[]>`
          SELECT ${QUEUE_COLUMNS} FROM ra_queue WHERE audio_file_id = ${audioFileId}::uuid`;
        return rows[0] ?? null;
      }
      const waiting = await this.db.prisma.$queryRaw<{ n: number }[]>`
        SELECT count(*)::int AS n FROM ra_queue q WHERE ${OPEN_TO_REVIEWER(reviewerId)}`;
      if (!waiting[0]?.n) return null;
    }
    return null;
  }

  /** Hands a leased file back to the queue. */
  async release(audioFileId: string, reviewerId: string): Promise<void> {
    await this.db.prisma.raAssignment.updateMany({
      where: { audioFileId, reviewerId, status: 'open' },
      data: { status: 'released', closedAt: new Date() },
    });
  }

  /** Leases past their expiry go back to the queue; returns how many. */
  async releaseExpiredLeases(): Promise<number> {
    return this.db.prisma.$executeRaw`
      UPDATE ra_assignments SET status = 'released', closed_at = now()
      WHERE status = 'open' AND lease_expires_at <= now()`;
  }

  /**
   * Saves the reviewer's codebook answers for a file and closes the reviewer's lease on it, in one
   * transaction that holds only while the lease does: a reviewer whose lease expired (and maybe went to
   * someone else) or who never held the file gets LeaseNotHeldError and nothing is written. A label the
   * reviewer gave before (an undone submission) is replaced.
   */
  async submitLabel(input: SubmitLabelInput): Promise<RaLabel> {
    const data = parseInput(labelInput, input, 'submit label');
    const answers = data.answers as Prisma.InputJsonObject;
    return this.db.prisma.$transaction(async (tx) => {
      // The row lock of this UPDATE orders it against a claimer releasing the expired lease.
      const closed = await tx.$executeRaw`
        UPDATE ra_assignments SET status = 'submitted', closed_at = now()
        WHERE audio_file_id = ${data.audioFileId}::uuid AND reviewer_id = ${data.reviewerId}::uuid
          AND status = 'open' AND lease_expires_at > now()`;
      if (closed === 0) throw new LeaseNotHeldError(data.audioFileId, data.reviewerId);
      return tx.raLabel.upsert({
        where: { audioFileId_reviewerId: { audioFileId: data.audioFileId, reviewerId: data.reviewerId } },
        create: {
          audioFileId: data.audioFileId,
          reviewerId: data.reviewerId,
          answers,
          notes: data.notes ?? null,
        },
        update: { answers, notes: data.notes ?? null },
      });
    });
  }

  listLabels(audioFileId: string): Promise<RaLabel[]> {
    return this.db.prisma.raLabel.findMany({ where: { audioFileId }, orderBy: { createdAt: 'asc' } });
  }
}
