import type { Db } from '@audio/db';
import { waitFor } from './wait.js';

/** Waits until the batch is complete or failed, and returns its row. */
export function waitForBatchDone(db: Db, batchId: string, timeoutMs = 480_000) {
  return waitFor(
    `batch ${batchId} to finish`,
    async () => {
      const batch = await db.prisma.batch.findUnique({ where: { batchId } });
      return batch && (batch.status === 'complete' || batch.status === 'failed') ? batch : undefined;
    },
    timeoutMs,
  );
}

/** Row counts of the pipeline's tables for one batch. */
export async function batchRowCounts(db: Db, batchId: string) {
  const where = { audioFile: { batchId } };
  return {
    audioFiles: await db.prisma.audioFile.count({ where: { batchId } }),
    transcripts: await db.prisma.transcript.count({ where }),
    classifications: await db.prisma.classification.count({ where }),
    failures: await db.prisma.processingFailure.count({ where: { batchId } }),
  };
}
