import fs from 'node:fs/promises';
import { Worker, type ConnectionOptions, type Job } from 'bullmq';
import type { Logger } from '@audio/logger';
import {
  convertPayload,
  convertQueueName,
  JobBatcher,
  parsePayload,
  PipelineError,
  type WorkerTuning,
  workerName,
} from '@audio/queues';
import type { ScratchManager } from '@audio/storage';
import type { OpusConverter } from './opus-converter.js';

interface ConvertItem {
  key: string;
  sourcePath: string;
  opusPath: string;
}

export interface ConvertWorkerDeps {
  hostId: string;
  connection: ConnectionOptions;
  prefix: string;
  tuning?: WorkerTuning;
  scratch: ScratchManager;
  converter: OpusConverter;
  /** ffmpeg processes at a time. */
  concurrency: number;
  /** Files per ffmpeg process. */
  batchSize: number;
  logger: Logger;
  /** Called after each conversion (metrics, tests). */
  onConverted?: (job: Job, ms: number) => void;
}

/**
 * Converts one file of a batch, on the host whose scratch holds it. Its parent transcribe job starts
 * as soon as it completes; a file ffmpeg cannot decode fails alone (no retries: the bytes won't change).
 */
export function createConvertWorker(deps: ConvertWorkerDeps): Worker {
  const queueName = convertQueueName(deps.hostId);
  const batcher = new JobBatcher<ConvertItem, ConvertItem & { error?: Error }>(
    {
      async process(items) {
        const errors = await deps.converter.convertMany(items);
        return items.map((item, i) => ({ ...item, error: errors[i] }));
      },
    },
    { maxBatch: deps.batchSize, maxWaitMs: 20 },
  );
  return new Worker(
    queueName,
    async (job: Job) => {
      const data = parsePayload(convertPayload, job.data, `${queueName}/${job.id}`);
      const started = Date.now();
      const source = deps.scratch.resolve(data.batchId, data.sourcePath);
      const opus = deps.scratch.resolve(data.batchId, data.opusPath);
      // A retry after a crash between rename and completion finds the Opus already there.
      if (await exists(opus)) return { opusPath: data.opusPath, reused: true };
      if (!(await exists(source))) {
        throw new PipelineError('scratch_missing', `${data.sourcePath} is gone from this host's scratch`, {
          retryable: false,
          stage: 'convert',
        }).toJobError();
      }
      const { error } = await batcher.submit({ key: job.id!, sourcePath: source, opusPath: opus });
      if (error) throw error instanceof PipelineError ? error.toJobError() : error;
      await fs.rm(source, { force: true }); // the MP3 is no longer needed on this host
      const ms = Date.now() - started;
      deps.onConverted?.(job, ms);
      return { opusPath: data.opusPath, ms };
    },
    {
      ...deps.tuning,
      name: workerName('convert', deps.hostId),
      connection: deps.connection,
      prefix: deps.prefix,
      concurrency: deps.concurrency * deps.batchSize,
    },
  );
}

async function exists(file: string): Promise<boolean> {
  return fs.access(file).then(
    () => true,
    () => false,
  );
}
