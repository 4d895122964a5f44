import { Worker, type ConnectionOptions, type Job } from 'bullmq';
import type { AudioFileRepository } from '@audio/db';
import type { Logger } from '@audio/logger';
import {
  parsePayload,
  parseReason,
  PipelineError,
  transcribePayload,
  transcribeQueueName,
  type WorkerTuning,
  workerName,
  type JobBatcher,
} from '@audio/queues';
import { processedOpusKey, type ObjectStore, type ScratchManager } from '@audio/storage';
import type { SidecarItem, SidecarResultItem } from './sidecar/index.js';

export interface TranscribeWorkerDeps {
  hostId: string;
  connection: ConnectionOptions;
  prefix: string;
  tuning?: WorkerTuning;
  batcher: JobBatcher<SidecarItem, SidecarResultItem>;
  scratch: ScratchManager;
  store: ObjectStore;
  audioFiles: AudioFileRepository;
  concurrency: number;
  logger: Logger;
}

export interface TranscribeResult {
  audioFileId: string;
  opusKey: string;
  flagged: boolean;
}

/** Sidecar item errors that a retry cannot fix. */
const PERMANENT_ITEM_ERRORS = new Set(['not_found', 'decode_error', 'invalid_item']);

/**
 * One file: its Opus (converted by this job's child) goes to the sidecar in a batch with other jobs'
 * files; the result is written to Postgres in one transaction (idempotent per batch + entry), the Opus
 * goes to S3 under the audio file's id, then the row gets its key. Every step can be repeated, so a
 * job killed anywhere in between is safe to run again.
 */
export async function transcribeFile(deps: TranscribeWorkerDeps, job: Job): Promise<TranscribeResult> {
  const queueName = transcribeQueueName(deps.hostId);
  const data = parsePayload(transcribePayload, job.data, `${queueName}/${job.id}`);
  const childFailures = Object.values(await job.getIgnoredChildrenFailures());
  if (childFailures.length > 0) {
    // The conversion failed for good: pass its reason on, unchanged, to finalize.
    const reason = parseReason(childFailures[0]);
    throw new PipelineError(reason.code, reason.message, {
      retryable: false,
      stage: reason.stage ?? 'convert',
    });
  }
  const opusPath = deps.scratch.resolve(data.batchId, data.opusPath);
  const result = await deps.batcher.submit({ key: job.id!, path: opusPath });
  if (!result.ok) {
    throw new PipelineError(result.error.code, result.error.message, {
      retryable: !PERMANENT_ITEM_ERRORS.has(result.error.code),
      stage: 'transcribe',
    });
  }
  const { audioFileId } = await deps.audioFiles.recordFileResult({
    batchId: data.batchId,
    originalFilename: data.entry,
    durationSeconds: result.durationSeconds ?? undefined,
    sizeBytes: data.sizeBytes,
    sha256: data.sha256,
    transcript: {
      text: result.transcript.text,
      language: result.transcript.language,
      segments: result.transcript.segments,
      model: result.transcript.model,
    },
    classification: {
      policyId: result.classification.policyId,
      policyVersion: result.classification.policyVersion,
      flagged: result.classification.flagged,
      score: result.classification.score,
      model: result.classification.model,
    },
  });
  // Keyed by the transfer date, not today's: a replay on another day writes the same key again.
  const opusKey = processedOpusKey(data.transferredAt, audioFileId);
  await deps.store.uploadOpus(opusPath, opusKey);
  await deps.audioFiles.setOpusKey(audioFileId, opusKey);
  return { audioFileId, opusKey, flagged: result.classification.flagged };
}

export function createTranscribeWorker(deps: TranscribeWorkerDeps): Worker {
  return new Worker(
    transcribeQueueName(deps.hostId),
    async (job: Job) => {
      try {
        return await transcribeFile(deps, job);
      } catch (error) {
        throw error instanceof PipelineError ? error.toJobError() : error;
      }
    },
    {
      ...deps.tuning,
      name: workerName('transcribe', deps.hostId),
      connection: deps.connection,
      prefix: deps.prefix,
      concurrency: deps.concurrency,
    },
  );
}
