import type { Job } from 'bullmq';
import type { AudioFileRepository } from '@audio/db';
import { decodeFailure, PipelineError, type JobBatcher, type TranscribePayload } from '@audio/queues';
import { processedOpusKey, type ObjectStore, type ScratchManager } from '@audio/storage';
import type { SidecarItem, SidecarResultItem } from './sidecar/index.js';

export interface TranscribeDeps {
  batcher: JobBatcher<SidecarItem, SidecarResultItem>;
  scratch: ScratchManager;
  store: ObjectStore;
  audioFiles: AudioFileRepository;
  /**
   * This host and a lookup of a batch's owner (the host of its latest run). A job whose batch another
   * host has taken over (a replay after this host was declared dead) is stale: it writes nothing.
   */
  ownership?: { hostId: string; ownerOf(batchId: string): Promise<string | null | undefined> };
}

export type TranscribeResult =
  | { audioFileId: string; opusKey: string; flagged: boolean }
  /** The batch is another host's now: this stale job wrote nothing. */
  | { superseded: true; owner: string };

/** The other host that owns the batch now, if this one no longer does. */
async function newOwner(deps: TranscribeDeps, batchId: string): Promise<string | undefined> {
  if (!deps.ownership) return undefined;
  const owner = await deps.ownership.ownerOf(batchId);
  return owner && owner !== deps.ownership.hostId ? owner : undefined;
}

/** Sidecar item errors that a retry cannot fix. */
const PERMANENT_ITEM_ERRORS = new Set(['not_found', 'decode_error', 'invalid_item']);

/**
 * The `transcribe` stage, one file: its Opus (converted by this job's child) goes to the sidecar in a
 * batch with other jobs' files; the result is written to Postgres in one transaction (idempotent per
 * batch + entry), the Opus goes to S3 under the audio file's id, then the row gets its key. Every step
 * can be repeated, so a job killed anywhere in between is safe to run again.
 */
export async function transcribeFile(
  deps: TranscribeDeps,
  data: TranscribePayload,
  job: Job,
): Promise<TranscribeResult> {
  // Checked before the sidecar (a host back from the dead spends no GPU on its old runs) and again
  // before the writes (the batch may have been taken over meanwhile).
  let owner = await newOwner(deps, data.batchId);
  if (owner) return { superseded: true, owner };
  const childFailures = Object.values(await job.getIgnoredChildrenFailures());
  if (childFailures.length > 0) {
    // The conversion failed for good: pass its failure on, unchanged, to finalize. A reason from an
    // older release names no stage nor entry: it was the convert child's, about this job's entry.
    const failure = decodeFailure(childFailures[0]);
    throw PipelineError.from({
      ...failure,
      stage: failure.stage ?? 'convert',
      entry: failure.entry ?? data.entry,
      retryable: false,
    });
  }
  const opusPath = deps.scratch.resolve(data.batchId, data.opusPath);
  const result = await deps.batcher.submit({ key: job.id!, path: opusPath });
  if (!result.ok) {
    throw new PipelineError(result.error.code, result.error.message, {
      retryable: !PERMANENT_ITEM_ERRORS.has(result.error.code),
    });
  }
  owner = await newOwner(deps, data.batchId);
  if (owner) return { superseded: true, owner };
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
