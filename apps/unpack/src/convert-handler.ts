import fs from 'node:fs/promises';
import type { Job } from 'bullmq';
import { JobBatcher, PipelineError, type StageHandler } from '@audio/queues';
import type { ScratchManager } from '@audio/storage';
import type { OpusConverter } from './opus-converter.js';

interface ConvertItem {
  key: string;
  sourcePath: string;
  opusPath: string;
}

export interface ConvertDeps {
  scratch: ScratchManager;
  converter: OpusConverter;
  /** Files per ffmpeg process. */
  batchSize: number;
  /** Called after each conversion (metrics, tests). */
  onConverted?: (job: Job, ms: number) => void;
}

/**
 * The `convert` stage: converts one file of a batch, on the host whose scratch holds it. Its parent
 * transcribe job starts as soon as it completes; a file ffmpeg cannot decode fails alone (no retries:
 * the bytes won't change). Concurrent jobs share ffmpeg processes, `batchSize` files each.
 */
export function createConvertHandler(deps: ConvertDeps): StageHandler<'convert'> {
  const batcher = new JobBatcher<ConvertItem, ConvertItem & { error?: Error }>(
    {
      async process(items) {
        const errors = await deps.converter.convertMany(items);
        return items.map((item, i) => ({ ...item, error: errors[i] }));
      },
    },
    { maxBatch: deps.batchSize, maxWaitMs: 20 },
  );
  return async (data, job) => {
    const started = Date.now();
    const source = deps.scratch.resolve(data.batchId, data.sourcePath);
    const opus = deps.scratch.resolve(data.batchId, data.opusPath);
    // A retry after a crash between rename and completion finds the Opus already there.
    if (await exists(opus)) return { opusPath: data.opusPath, reused: true };
    if (!(await exists(source))) {
      throw new PipelineError('scratch_missing', `${data.sourcePath} is gone from this host's scratch`, {
        retryable: false,
      });
    }
    const { error } = await batcher.submit({ key: job.id!, sourcePath: source, opusPath: opus });
    if (error) throw error;
    await fs.rm(source, { force: true }); // the MP3 is no longer needed on this host
    const ms = Date.now() - started;
    deps.onConverted?.(job, ms);
    return { opusPath: data.opusPath, ms };
  };
}

async function exists(file: string): Promise<boolean> {
  return fs.access(file).then(
    () => true,
    () => false,
  );
}
