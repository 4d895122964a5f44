import { z } from 'zod';
import type { Db } from './db.js';
import type { FailureStage, ProcessingFailure } from './generated/prisma/client.js';
import { parseInput } from './parse-input.js';

export const FAILURE_STAGES = [
  'transfer',
  'unpack',
  'convert',
  'transcribe',
  'finalize',
  'classify',
] as const satisfies readonly FailureStage[];

const text = z.string().trim().min(1, 'must not be empty');

const failureInput = z.object({
  batchId: text,
  /** The entry's path inside the archive; '' for a failure of the batch as a whole. */
  entry: z.string(),
  stage: z.enum(FAILURE_STAGES, `must be one of ${FAILURE_STAGES.join(', ')}`),
  reasonCode: text,
  message: z.string(),
  attempts: z.number().int('must be a whole number').nonnegative('must not be negative'),
});
export type FailureInput = z.input<typeof failureInput>;

/** Files (or whole batches) that could not be processed, for the batch page and the error report. */
export class FailureRepository {
  constructor(private readonly db: Db) {}

  /**
   * Idempotent per (batch, entry, stage): a retry or replay that fails again updates the reason,
   * message and attempts of the one row (and its updated_at) instead of adding another.
   */
  async record(input: FailureInput): Promise<void> {
    const f = parseInput(failureInput, input, 'record failure');
    // Prisma's upsert is not one statement on every path; ON CONFLICT is, so concurrent retries cannot collide.
    await this.db.prisma.$executeRaw`
      INSERT INTO processing_failures (batch_id, entry, stage, reason_code, message, attempts)
      VALUES (${f.batchId}, ${f.entry}, ${f.stage}::failure_stage, ${f.reasonCode}, ${f.message}, ${f.attempts})
      ON CONFLICT (batch_id, entry, stage) DO UPDATE
        SET reason_code = EXCLUDED.reason_code,
            message = EXCLUDED.message,
            attempts = EXCLUDED.attempts,
            updated_at = now()`;
  }

  /** In entry order, then stage order. */
  listByBatch(batchId: string): Promise<ProcessingFailure[]> {
    return this.db.prisma.processingFailure.findMany({
      where: { batchId },
      orderBy: [{ entry: 'asc' }, { stage: 'asc' }],
    });
  }
}
