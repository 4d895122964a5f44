import { z } from 'zod';
import { batchIdSchema } from './batch-id.js';

// Job payloads: the contract between the apps. Every worker parses its job's data with these schemas
// (through the stage table), so a producer on another version fails loudly instead of half-processing.

const isoDate = z.iso.datetime({ offset: true });

/** Shared `unpack` queue: one archive that transfer put in S3. jobId = batchId. */
export const unpackPayload = z.object({
  batchId: batchIdSchema,
  s3Key: z.string().min(1),
  fileCount: z.number().int().nonnegative().optional(),
  transferredAt: isoDate,
  sha256: z
    .string()
    .regex(/^[0-9a-f]{64}$/)
    .optional(),
  sizeBytes: z.number().int().nonnegative().optional(),
  source: z.string().optional(),
  /** 0 for the first run; replays count up so that their job ids differ from the first run's. */
  run: z.number().int().nonnegative().default(0),
  /** Only these entries (a retry of a finished batch's failed files); absent: the whole archive. */
  entries: z.array(z.string().min(1)).min(1).optional(),
});
export type UnpackPayload = z.output<typeof unpackPayload>;
export type UnpackPayloadInput = z.input<typeof unpackPayload>;

/** One archive entry, as every per-file job carries it. */
const fileEntry = {
  batchId: batchIdSchema,
  /** Index of the entry in the archive; part of the job ids. */
  index: z.number().int().nonnegative(),
  /** The entry's path inside the archive, as the source named it (kept verbatim for the database). */
  entry: z.string().min(1),
  transferredAt: isoDate,
};

/** `convert-{host}`: MP3 in scratch → Opus in scratch (grandchild in the batch flow). */
export const convertPayload = z.object({
  ...fileEntry,
  /** Paths relative to the batch's scratch directory. */
  sourcePath: z.string().min(1),
  opusPath: z.string().min(1),
});
export type ConvertPayload = z.output<typeof convertPayload>;

/** `transcribe-{host}`: Opus in scratch → sidecar → Postgres + S3 (child in the batch flow). */
export const transcribePayload = z.object({
  ...fileEntry,
  opusPath: z.string().min(1),
  /** Of the original MP3, computed while it was extracted. */
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  sizeBytes: z.number().int().nonnegative(),
});
export type TranscribePayload = z.output<typeof transcribePayload>;

/** `finalize-{host}`: runs once every file of the batch is done (parent of the batch flow). */
export const finalizePayload = z.object({
  batchId: batchIdSchema,
  hostId: z.string().min(1),
  run: z.number().int().nonnegative().default(0),
  files: z.number().int().nonnegative(),
  /** Entries unpack refused (recorded as processing failures already). */
  refused: z.number().int().nonnegative(),
  archiveKey: z.string().min(1),
  /** `failed-files`: a retry of some files only; the batch's counts then come from the database. */
  scope: z.enum(['all', 'failed-files']).default('all'),
});
export type FinalizePayload = z.output<typeof finalizePayload>;

/**
 * Shared `classify` queue: stored transcripts judged under another policy version (`pnpm reclassify`).
 * No audio, so any GPU host takes it. jobId = `reclassify-{runId}-{n}`.
 */
export const classifyPayload = z.object({
  /** Names the reclassify run (its jobs' ids and its progress). */
  runId: z.string().regex(/^[A-Za-z0-9_-]+$/),
  policyId: z.string().min(1),
  policyVersion: z.string().min(1),
  audioFileIds: z.array(z.uuid()).min(1).max(1000),
});
export type ClassifyPayload = z.output<typeof classifyPayload>;
