import { z } from 'zod';
import type { Db } from './db.js';
import { Prisma } from './generated/prisma/client.js';
import { parseInput } from './parse-input.js';

/** Which stored files a re-classification covers: one batch, batches transferred since a date, or all. */
export interface ReclassifySelection {
  batchId?: string;
  since?: Date;
}

const text = z.string().trim().min(1, 'must not be empty');
const classificationInput = z.object({
  audioFileId: z.uuid('must be a UUID'),
  policyId: text,
  policyVersion: text,
  flagged: z.boolean(),
  score: z.number().min(0, 'must be between 0 and 1').max(1, 'must be between 0 and 1'),
  model: text,
});
export type ClassificationInput = z.input<typeof classificationInput>;

/** Classifications of stored transcripts under other policy versions: what `pnpm reclassify` reads and writes. */
export class ClassificationRepository {
  constructor(private readonly db: Db) {}

  private where(selection: ReclassifySelection): Prisma.Sql {
    const parts = [Prisma.sql`TRUE`];
    if (selection.batchId) parts.push(Prisma.sql`af.batch_id = ${selection.batchId}`);
    if (selection.since) {
      parts.push(
        Prisma.sql`af.batch_id IN (SELECT batch_id FROM batches WHERE transferred_at >= ${selection.since})`,
      );
    }
    return Prisma.join(parts, ' AND ');
  }

  /**
   * The next `limit` files of the selection (by id, after `afterId`) that have a transcript and no
   * classification under the version yet: keyset pages, so a million files are read a page at a time.
   */
  async unclassifiedPage(
    selection: ReclassifySelection,
    policy: { id: string; version: string },
    page: { afterId?: string; limit: number },
  ): Promise<string[]> {
    const after = page.afterId ? Prisma.sql`AND af.id > ${page.afterId}::uuid` : Prisma.empty;
    const rows = await this.db.prisma.$queryRaw<{ id: string }[]>`
      SELECT af.id::text AS id FROM audio_files af JOIN transcripts t ON t.audio_file_id = af.id
      WHERE ${this.where(selection)} ${after}
        AND NOT EXISTS (SELECT 1 FROM classifications c WHERE c.audio_file_id = af.id
                        AND c.policy_id = ${policy.id} AND c.policy_version = ${policy.version})
      ORDER BY af.id LIMIT ${page.limit}`;
    return rows.map((r) => r.id);
  }

  /** Files of the selection that have a transcript, how many of them the version classified, and flagged. */
  async progress(
    selection: ReclassifySelection,
    policy: { id: string; version: string },
  ): Promise<{ total: number; classified: number; flagged: number }> {
    const [row] = await this.db.prisma.$queryRaw<{ total: number; classified: number; flagged: number }[]>`
      SELECT count(*)::int AS total, count(c.audio_file_id)::int AS classified,
             (count(*) FILTER (WHERE c.flagged))::int AS flagged
      FROM audio_files af JOIN transcripts t ON t.audio_file_id = af.id
      LEFT JOIN classifications c ON c.audio_file_id = af.id
        AND c.policy_id = ${policy.id} AND c.policy_version = ${policy.version}
      WHERE ${this.where(selection)}`;
    return row!;
  }

  /** The transcripts of these files that the version has not classified yet (a retried job skips the rest). */
  async transcriptsToClassify(
    audioFileIds: string[],
    policy: { id: string; version: string },
  ): Promise<{ audioFileId: string; text: string }[]> {
    if (audioFileIds.length === 0) return [];
    return this.db.prisma.$queryRaw<{ audioFileId: string; text: string }[]>`
      SELECT t.audio_file_id::text AS "audioFileId", t.text FROM transcripts t
      WHERE t.audio_file_id = ANY (${audioFileIds}::uuid[])
        AND NOT EXISTS (SELECT 1 FROM classifications c WHERE c.audio_file_id = t.audio_file_id
                        AND c.policy_id = ${policy.id} AND c.policy_version = ${policy.version})
      ORDER BY t.audio_file_id`;
  }

  /** Writes classifications; one per (file, policy, version): an existing one is kept (idempotent). */
  async record(rows: ClassificationInput[]): Promise<number> {
    const data = rows.map((row, i) => parseInput(classificationInput, row, `record classification ${i}`));
    if (data.length === 0) return 0;
    const { count } = await this.db.prisma.classification.createMany({ data, skipDuplicates: true });
    return count;
  }
}
