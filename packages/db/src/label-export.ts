import Cursor from 'pg-cursor';
import type { Db } from './db.js';
import type { PolicyKey } from './research-queries.js';

/** One label with what it judged: the file, its transcript and one classification of it. */
export interface LabelExportRow {
  audio_file_id: string;
  batch_id: string;
  original_filename: string;
  policy_id: string | null;
  policy_version: string | null;
  flagged: boolean | null;
  score: number | null;
  model: string | null;
  classified_at: Date | null;
  reviewer: string;
  answers: Record<string, unknown>;
  notes: string | null;
  labelled_at: Date;
  updated_at: Date;
  transcript: string | null;
}

export const LABEL_EXPORT_COLUMNS = [
  'audio_file_id',
  'batch_id',
  'original_filename',
  'policy_id',
  'policy_version',
  'flagged',
  'score',
  'model',
  'classified_at',
  'reviewer',
  'answers',
  'notes',
  'labelled_at',
  'updated_at',
  'transcript',
] as const satisfies readonly (keyof LabelExportRow)[];

/**
 * Every label, with its file's transcript and classification (one row per classification of the file,
 * or only the version's with `policy`), read through a server-side cursor `batchSize` rows at a time:
 * memory stays bounded whatever the table holds. Ordered by label id, so exports are stable.
 */
export async function* streamLabels(
  db: Db,
  options: { policy?: PolicyKey; batchSize?: number } = {},
): AsyncGenerator<LabelExportRow> {
  const client = await db.connect();
  const policy = options.policy;
  const cursor = client.query(
    new Cursor<LabelExportRow>(
      `SELECT l.audio_file_id::text AS audio_file_id, af.batch_id, af.original_filename,
              c.policy_id, c.policy_version, c.flagged, c.score, c.model, c.created_at AS classified_at,
              u.username AS reviewer, l.answers, l.notes, l.created_at AS labelled_at, l.updated_at,
              t.text AS transcript
       FROM ra_labels l
       JOIN audio_files af ON af.id = l.audio_file_id
       JOIN ra_users u ON u.id = l.reviewer_id
       LEFT JOIN transcripts t ON t.audio_file_id = l.audio_file_id
       ${policy ? '' : 'LEFT '}JOIN classifications c ON c.audio_file_id = l.audio_file_id
         ${policy ? 'AND c.policy_id = $1 AND c.policy_version = $2' : ''}
       ORDER BY l.id, c.id`,
      policy ? [policy.id, policy.version] : [],
    ),
  );
  try {
    for (;;) {
      const rows = await cursor.read(options.batchSize ?? 1000);
      if (rows.length === 0) return;
      yield* rows;
    }
  } finally {
    await cursor.close().catch(() => undefined);
    await client.end();
  }
}
