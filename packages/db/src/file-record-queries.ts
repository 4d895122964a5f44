import { z } from 'zod';
import type { Db } from './db.js';
import type {
  AudioFile,
  Batch,
  Classification,
  ProcessingFailure,
  RaRole,
  Transcript,
} from './generated/prisma/client.js';
import { reviewDraw } from './policy-repository.js';

/**
 * Why a file is (or was) in the review queue under a policy version, as `ra_queue` decides it: flagged
 * (one review), flagged and drawn for a second review (`double`), or unflagged and drawn for the control
 * sample; null when the version's verdict sends it to nobody.
 */
export type ReviewSample = 'flagged' | 'double' | 'control';

export interface FileClassification extends Classification {
  /** The stored policy version (null for a classification under a version never added with `pnpm policy`). */
  policy: { title: string; active: boolean; doubleReviewShare: number; controlShare: number } | null;
  sample: ReviewSample | null;
}

export interface FileLabel {
  id: string;
  reviewer: string;
  reviewerRole: RaRole;
  answers: Record<string, unknown>;
  notes: string | null;
  createdAt: Date;
  updatedAt: Date;
  /** 1 for the file's first label, 2 for the second (a double review)… */
  position: number;
  /**
   * The policy version active when the label was saved, from the versions' activation times (labels do
   * not name a version: the reviewer judged against the active policy's text). Null when none was.
   */
  policy: { id: string; version: string } | null;
  /** The sample the file was in under that version (or flagged, when no version was active). */
  sample: ReviewSample | null;
}

/** What the queue says about the file now: waiting for labels, and who holds it. */
export interface FileQueueState {
  sample: string;
  reviewsRequired: number;
  heldBy: string | null;
  leaseExpiresAt: Date | null;
}

/** One audio file with everything recorded about it: what the file page shows. */
export interface FileRecord {
  file: AudioFile;
  batch: Batch;
  transcript: Transcript | null;
  classifications: FileClassification[];
  labels: FileLabel[];
  /** Failures recorded for its archive entry (earlier attempts, when the file has results). */
  failures: ProcessingFailure[];
  queue: FileQueueState | null;
  /** The file's draw in [0, 1) for the review samples. */
  draw: number;
}

/** A UUID of any version (the ids are Postgres's gen_random_uuid, but seeds and tools may use others). */
const uuid = z.string().regex(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i);

export function isAudioFileId(value: string): boolean {
  return uuid.safeParse(value).success;
}

function sampleOf(
  flagged: boolean,
  draw: number,
  shares: { doubleReviewShare: number; controlShare: number } | null,
): ReviewSample | null {
  if (flagged) return shares && draw < shares.doubleReviewShare ? 'double' : 'flagged';
  return shares && draw < shares.controlShare ? 'control' : null;
}

/** The read side of the file page: one file, its results, its labels and why it was reviewed. */
export class FileRecordQueries {
  constructor(private readonly db: Db) {}

  /** Null for an unknown id; throws nothing for a malformed one (callers check with isAudioFileId). */
  async get(audioFileId: string): Promise<FileRecord | null> {
    if (!isAudioFileId(audioFileId)) return null;
    const prisma = this.db.prisma;
    const file = await prisma.audioFile.findUnique({
      where: { id: audioFileId },
      include: { batch: true, transcript: true, classifications: { orderBy: { createdAt: 'asc' } } },
    });
    if (!file) return null;
    const { batch, transcript, classifications, ...row } = file;
    const draw = reviewDraw(audioFileId);
    const [policies, labelRows, failures, queueRows] = await Promise.all([
      prisma.policy.findMany({
        where: { OR: classifications.map((c) => ({ id: c.policyId, version: c.policyVersion })) },
      }),
      prisma.$queryRaw<
        (Omit<FileLabel, 'position' | 'policy' | 'sample'> & {
          policyId: string | null;
          policyVersion: string | null;
        })[]
      >`
        SELECT l.id::text AS id, u.username AS reviewer, u.role AS "reviewerRole", l.answers, l.notes,
               l.created_at AS "createdAt", l.updated_at AS "updatedAt",
               p.policy_id AS "policyId", p.version AS "policyVersion"
        FROM ra_labels l
        JOIN ra_users u ON u.id = l.reviewer_id
        LEFT JOIN LATERAL (
          SELECT policy_id, version FROM policies
          WHERE activated_at IS NOT NULL AND activated_at <= l.created_at
          ORDER BY activated_at DESC LIMIT 1
        ) p ON true
        WHERE l.audio_file_id = ${audioFileId}::uuid
        ORDER BY l.created_at, l.id`,
      prisma.processingFailure.findMany({
        where: { batchId: file.batchId, entry: file.originalFilename },
        orderBy: { updatedAt: 'asc' },
      }),
      prisma.$queryRaw<FileQueueState[]>`
        SELECT q.sample, q.reviews_required::int AS "reviewsRequired", u.username AS "heldBy",
               q.lease_expires_at AS "leaseExpiresAt"
        FROM ra_queue q LEFT JOIN ra_users u ON u.id = q.assigned_reviewer_id
        WHERE q.audio_file_id = ${audioFileId}::uuid`,
    ]);
    const policyOf = (id: string, version: string) =>
      policies.find((p) => p.id === id && p.version === version) ?? null;
    const withSamples: FileClassification[] = classifications.map((c) => {
      const p = policyOf(c.policyId, c.policyVersion);
      return {
        ...c,
        policy: p && {
          title: p.title,
          active: p.active,
          doubleReviewShare: p.doubleReviewShare,
          controlShare: p.controlShare,
        },
        sample: sampleOf(c.flagged, draw, p),
      };
    });
    const labels = labelRows.map(({ policyId, policyVersion, ...label }, i): FileLabel => {
      const underPolicy =
        policyId !== null && policyVersion !== null
          ? withSamples.find((c) => c.policyId === policyId && c.policyVersion === policyVersion)
          : undefined;
      return {
        ...label,
        position: i + 1,
        policy: policyId !== null && policyVersion !== null ? { id: policyId, version: policyVersion } : null,
        // As ra_queue: under the active version its verdict counts; without one, any flag does.
        sample: underPolicy ? underPolicy.sample : withSamples.some((c) => c.flagged) ? 'flagged' : null,
      };
    });
    return {
      file: row,
      batch,
      transcript,
      classifications: withSamples,
      labels,
      failures,
      queue: queueRows[0] ?? null,
      draw,
    };
  }
}
