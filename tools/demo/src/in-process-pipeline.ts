import fs from 'node:fs';
import path from 'node:path';
import {
  AudioFileRepository,
  BatchRepository,
  createDb,
  FailureRepository,
  readDbConfig,
  type Batch,
  type Db,
} from '@audio/db';
import { startGpuApp, type GpuApp } from '@audio/gpu';
import type { Logger } from '@audio/logger';
import { readStorageConfig } from '@audio/storage';
import { openTransferContext, type TransferContext } from '@audio/transfer';
import { startUnpackApp, type UnpackApp } from '@audio/unpack';

export interface BatchSummary {
  batchId: string;
  archive: string;
  status: string;
  error?: { code: string; message: string };
  files: number;
  succeeded: number;
  failed: { entry: string; reason: string; stage: string; message: string }[];
  flagged: number;
  flaggedItems: { entry: string; text: string; score: number }[];
  /** The models named by the batch's rows (`fixture` for the test double). */
  models: { transcribe: string[]; classify: string[] };
  scratchCleaned: boolean;
  s3: { archive: string; processed: string[] };
}

const DONE = new Set(['complete', 'failed']);

/**
 * Every app of the pipeline in this process (transfer's ingester, unpack, gpu with its sidecar), on one
 * host: what `pnpm demo` and the pipeline benchmark run.
 */
export class InProcessPipeline {
  private constructor(
    private readonly env: NodeJS.ProcessEnv,
    private readonly logger: Logger,
    private readonly db: Db,
    private readonly transfer: TransferContext,
    private readonly unpack: UnpackApp,
    private readonly gpu: GpuApp,
  ) {}

  static async start(env: NodeJS.ProcessEnv, logger: Logger): Promise<InProcessPipeline> {
    const gpu = await startGpuApp({ env, logger: logger.child({ app: 'gpu' }) });
    const unpack = await startUnpackApp({ env, logger: logger.child({ app: 'unpack' }) });
    const db = createDb(readDbConfig(env));
    const transfer = await openTransferContext({ env, logger: logger.child({ app: 'transfer' }) });
    return new InProcessPipeline(env, logger, db, transfer, unpack, gpu);
  }

  get hostId(): string {
    return this.unpack.hostId;
  }

  async ingest(archivePath: string): Promise<string> {
    const result = await this.transfer.ingester.ingest(archivePath, {
      source: `demo:${path.basename(archivePath)}`,
    });
    return result.batchId;
  }

  /** Resolves when every batch is complete or failed; rejects after `timeoutMs`. */
  async waitForBatches(batchIds: string[], timeoutMs: number): Promise<void> {
    const batches = new BatchRepository(this.db);
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const rows = await Promise.all(batchIds.map((id) => batches.get(id)));
      if (rows.every((b) => b && DONE.has(b.status))) return;
      if (Date.now() > deadline) {
        const states = rows.map((b, i) => `${batchIds[i]}: ${b?.status ?? 'missing'}`).join(', ');
        throw new Error(`batches not finished after ${timeoutMs} ms (${states})`);
      }
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  async summarize(batchId: string, archive: string): Promise<BatchSummary> {
    const batch = (await new BatchRepository(this.db).get(batchId)) as Batch;
    const files = await new AudioFileRepository(this.db).listByBatch(batchId);
    const failures = await new FailureRepository(this.db).listByBatch(batchId);
    const flagged = await this.db.prisma.classification.findMany({
      where: { flagged: true, audioFile: { batchId } },
      include: { audioFile: { include: { transcript: true } } },
      orderBy: { audioFile: { originalFilename: 'asc' } },
    });
    const inBatch = { audioFile: { batchId } };
    const [transcribeModels, classifyModels] = await Promise.all([
      this.db.prisma.transcript.findMany({ where: inBatch, distinct: ['model'], select: { model: true } }),
      this.db.prisma.classification.findMany({
        where: inBatch,
        distinct: ['model'],
        select: { model: true },
      }),
    ]);
    const scratchRoot = this.env.SCRATCH_ROOT ?? '/data/scratch';
    return {
      batchId,
      archive,
      status: batch.status,
      ...(batch.errorCode ? { error: { code: batch.errorCode, message: batch.errorMessage ?? '' } } : {}),
      files: files.length + failures.length,
      succeeded: files.length,
      failed: failures.map((f) => ({
        entry: f.entry,
        reason: f.reasonCode,
        stage: f.stage,
        message: f.message,
      })),
      flagged: flagged.length,
      flaggedItems: flagged.map((c) => ({
        entry: c.audioFile.originalFilename,
        text: c.audioFile.transcript?.text ?? '',
        score: c.score,
      })),
      models: {
        transcribe: transcribeModels.map((t) => t.model).sort(),
        classify: classifyModels.map((c) => c.model).sort(),
      },
      scratchCleaned: !fs.existsSync(path.join(scratchRoot, batchId)),
      s3: {
        archive: batch.archiveKey,
        processed: files.flatMap((f) => (f.s3OpusPath ? [f.s3OpusPath] : [])).sort(),
      },
    };
  }

  get bucket(): string {
    return readStorageConfig(this.env).bucket;
  }

  async close(): Promise<void> {
    await this.unpack.close();
    await this.gpu.close();
    await this.transfer.close();
    await this.db.close();
    this.logger.debug('pipeline closed');
  }
}
