import type { Db } from './db.js';

export interface PolicyKey {
  id: string;
  version: string;
}

/** A file whose verdict differs between two versions, with its transcript. */
export interface ChangedVerdict {
  audioFileId: string;
  batchId: string;
  originalFilename: string;
  transcript: string;
  flaggedA: boolean;
  scoreA: number;
  flaggedB: boolean;
  scoreB: number;
}

export interface VersionComparison {
  /** Files each version classified, and flagged. */
  classifiedA: number;
  flaggedA: number;
  classifiedB: number;
  flaggedB: number;
  /** Over the files both versions classified. */
  both: number;
  flaggedByBoth: number;
  onlyA: number;
  onlyB: number;
  changed: ChangedVerdict[];
}

/** A label of a file, as the evaluation reads it. */
export interface EvaluationLabel {
  reviewerId: string;
  answers: Record<string, unknown>;
  createdAt: string;
}

/** A file a version classified and someone reviewed. */
export interface ReviewedVerdict {
  audioFileId: string;
  flagged: boolean;
  score: number;
  /** In the order they were given. */
  labels: EvaluationLabel[];
}

/** The researchers' read side: versions compared, and verdicts against the reviewers' labels. */
export class ResearchQueries {
  constructor(private readonly db: Db) {}

  /** Flag rates of two versions, and the files whose verdict changed (at most `limit`, by filename). */
  async compare(a: PolicyKey, b: PolicyKey, limit = 500): Promise<VersionComparison> {
    const [counts] = await this.db.prisma.$queryRaw<Omit<VersionComparison, 'changed'>[]>`
      WITH va AS (SELECT audio_file_id, flagged FROM classifications WHERE policy_id = ${a.id} AND policy_version = ${a.version}),
           vb AS (SELECT audio_file_id, flagged FROM classifications WHERE policy_id = ${b.id} AND policy_version = ${b.version})
      SELECT (SELECT count(*)::int FROM va) AS "classifiedA",
             (SELECT count(*)::int FROM va WHERE flagged) AS "flaggedA",
             (SELECT count(*)::int FROM vb) AS "classifiedB",
             (SELECT count(*)::int FROM vb WHERE flagged) AS "flaggedB",
             count(*)::int AS both,
             (count(*) FILTER (WHERE va.flagged AND vb.flagged))::int AS "flaggedByBoth",
             (count(*) FILTER (WHERE va.flagged AND NOT vb.flagged))::int AS "onlyA",
             (count(*) FILTER (WHERE vb.flagged AND NOT va.flagged))::int AS "onlyB"
      FROM va JOIN vb USING (audio_file_id)`;
    const changed = await this.db.prisma.$queryRaw<ChangedVerdict[]>`
      SELECT af.id::text AS "audioFileId", af.batch_id AS "batchId", af.original_filename AS "originalFilename",
             coalesce(t.text, '') AS transcript, ca.flagged AS "flaggedA", ca.score AS "scoreA",
             cb.flagged AS "flaggedB", cb.score AS "scoreB"
      FROM classifications ca
      JOIN classifications cb ON cb.audio_file_id = ca.audio_file_id
        AND cb.policy_id = ${b.id} AND cb.policy_version = ${b.version}
      JOIN audio_files af ON af.id = ca.audio_file_id
      LEFT JOIN transcripts t ON t.audio_file_id = af.id
      WHERE ca.policy_id = ${a.id} AND ca.policy_version = ${a.version} AND ca.flagged <> cb.flagged
      ORDER BY af.batch_id, af.original_filename LIMIT ${limit}`;
    return { ...counts!, changed };
  }

  /** Files the version classified, and flagged. */
  async versionCounts(policy: PolicyKey): Promise<{ classified: number; flagged: number }> {
    const [row] = await this.db.prisma.$queryRaw<{ classified: number; flagged: number }[]>`
      SELECT count(*)::int AS classified, (count(*) FILTER (WHERE flagged))::int AS flagged
      FROM classifications WHERE policy_id = ${policy.id} AND policy_version = ${policy.version}`;
    return row!;
  }

  /** Every file the version classified that has at least one label, with its labels in order. */
  reviewedVerdicts(policy: PolicyKey): Promise<ReviewedVerdict[]> {
    return this.db.prisma.$queryRaw<ReviewedVerdict[]>`
      SELECT c.audio_file_id::text AS "audioFileId", c.flagged, c.score,
             json_agg(json_build_object('reviewerId', l.reviewer_id, 'answers', l.answers, 'createdAt', l.created_at)
                      ORDER BY l.created_at, l.id) AS labels
      FROM classifications c JOIN ra_labels l ON l.audio_file_id = c.audio_file_id
      WHERE c.policy_id = ${policy.id} AND c.policy_version = ${policy.version}
      GROUP BY c.audio_file_id, c.flagged, c.score`;
  }
}
