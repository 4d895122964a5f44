import { z } from 'zod';
import type { Db } from './db.js';
import type { AudioFile, Prisma } from './generated/prisma/client.js';
import { AudioFileNotFoundError, BatchNotFoundError, ConflictingRecordError } from './errors.js';
import { parseInput } from './parse-input.js';

const text = z.string().trim().min(1, 'must not be empty');
const finite = z.number().refine(Number.isFinite, 'must be a finite number');

const fileResultInput = z.object({
  batchId: text,
  originalFilename: z.string().min(1, 'must not be empty'),
  durationSeconds: finite.nonnegative('must not be negative').nullish(),
  sizeBytes: z
    .union([z.bigint(), z.number().int('must be a whole number')])
    .transform((v) => BigInt(v))
    .refine((v) => v >= 0n, 'must not be negative'),
  sha256: z.string().regex(/^[0-9a-f]{64}$/, 'must be 64 lowercase hex digits'),
  transcript: z.object({
    text: z.string(),
    language: text,
    segments: z.unknown().refine((v) => v !== undefined, 'is required (use [] when there are none)'),
    model: text,
  }),
  classification: z.object({
    policyId: text,
    policyVersion: z.union([text, z.number().transform(String)]),
    flagged: z.boolean(),
    score: finite.min(0, 'must be between 0 and 1').max(1, 'must be between 0 and 1'),
    model: text,
  }),
});
export type FileResultInput = z.input<typeof fileResultInput>;

export interface FileResult {
  audioFileId: string;
  /** False when the file was already recorded (a replay): nothing was written. */
  created: boolean;
  /** The Opus key already set for the file, so that a replay can skip the upload. */
  s3OpusPath: string | null;
}

const uuid = z.uuid('must be a UUID');

/** Audio files with their transcript and classification: what the GPU workers write. */
const WITH_RESULTS = {
  classifications: true,
  transcript: { select: { text: true, language: true } },
} as const satisfies Prisma.AudioFileInclude;

export type AudioFileWithResults = Prisma.AudioFileGetPayload<{ include: typeof WITH_RESULTS }>;

export class AudioFileRepository {
  constructor(private readonly db: Db) {}

  /**
   * Writes the audio file, its transcript and its classification in one transaction, idempotent on
   * (batchId, originalFilename): a replay, or any number of concurrent calls, leaves one row per table
   * and returns the first call's id. Every insert is `ON CONFLICT DO NOTHING`, so a concurrent caller
   * waits for the first one's commit and then reads its row instead of failing on the unique index.
   * A classification under a new policy id/version is added to an existing file; a replay never rewrites
   * an existing transcript or classification.
   */
  async recordFileResult(input: FileResultInput): Promise<FileResult> {
    const data = parseInput(fileResultInput, input, 'record file result');
    try {
      return await this.db.prisma.$transaction(async (tx) => {
        const { count } = await tx.audioFile.createMany({
          data: [
            {
              batchId: data.batchId,
              originalFilename: data.originalFilename,
              durationSeconds: data.durationSeconds ?? null,
              sizeBytes: data.sizeBytes,
              sha256: data.sha256,
            },
          ],
          skipDuplicates: true,
        });
        const file = await tx.audioFile.findUniqueOrThrow({
          where: {
            batchId_originalFilename: { batchId: data.batchId, originalFilename: data.originalFilename },
          },
        });
        if (file.sha256 !== data.sha256) {
          throw new ConflictingRecordError(
            `${data.batchId}/${data.originalFilename} is already recorded with sha256 ${file.sha256}; ` +
              `refusing different content (sha256 ${data.sha256})`,
          );
        }
        await tx.transcript.createMany({
          data: [
            {
              audioFileId: file.id,
              text: data.transcript.text,
              language: data.transcript.language,
              segments: data.transcript.segments as Prisma.InputJsonValue,
              model: data.transcript.model,
            },
          ],
          skipDuplicates: true,
        });
        await tx.classification.createMany({
          data: [{ audioFileId: file.id, ...data.classification }],
          skipDuplicates: true,
        });
        return { audioFileId: file.id, created: count === 1, s3OpusPath: file.s3OpusPath };
      });
    } catch (error) {
      if (isForeignKeyViolation(error)) throw new BatchNotFoundError(data.batchId);
      throw error;
    }
  }

  /** Records where the Opus copy is in S3 (replacing an earlier key, e.g. after a re-upload). */
  async setOpusKey(audioFileId: string, key: string): Promise<void> {
    const valid = parseInput(
      z.object({ audioFileId: uuid, key: text }),
      { audioFileId, key },
      'set opus key',
    );
    const { count } = await this.db.prisma.audioFile.updateMany({
      where: { id: valid.audioFileId },
      data: { s3OpusPath: valid.key },
    });
    if (count === 0) throw new AudioFileNotFoundError(audioFileId);
  }

  get(audioFileId: string): Promise<AudioFile | null> {
    if (!uuid.safeParse(audioFileId).success) return Promise.resolve(null);
    return this.db.prisma.audioFile.findUnique({ where: { id: audioFileId } });
  }

  /** In filename order. */
  listByBatch(batchId: string): Promise<AudioFile[]> {
    return this.db.prisma.audioFile.findMany({ where: { batchId }, orderBy: { originalFilename: 'asc' } });
  }

  /** In filename order, each with its classifications and its transcript's text and language: the batch page. */
  listByBatchWithResults(batchId: string): Promise<AudioFileWithResults[]> {
    return this.db.prisma.audioFile.findMany({
      where: { batchId },
      orderBy: { originalFilename: 'asc' },
      include: WITH_RESULTS,
    });
  }

  countByBatch(batchId: string): Promise<number> {
    return this.db.prisma.audioFile.count({ where: { batchId } });
  }
}

/** Prisma's P2003, or the driver adapter's ForeignKeyConstraintViolation inside a transaction. */
function isForeignKeyViolation(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false;
  const { code, meta } = error as {
    code?: unknown;
    meta?: { driverAdapterError?: { cause?: { kind?: unknown } } };
  };
  return code === 'P2003' || meta?.driverAdapterError?.cause?.kind === 'ForeignKeyConstraintViolation';
}
