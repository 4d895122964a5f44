import crypto from 'node:crypto';
import { z } from 'zod';

/**
 * `YYYYMMDD-HHMMSS-xxxxxx`: the UTC time of the transfer plus 6 hex digits, e.g. `20250622-143052-a1b2c3`.
 * Ids sort by time; the id names the archive's S3 key, the batch row, the scratch directory and every job.
 */
export const BATCH_ID_PATTERN = /^(\d{4})(\d{2})(\d{2})-(\d{2})(\d{2})(\d{2})-[0-9a-f]{6}$/;

const EXAMPLE = '20250622-143052-a1b2c3';
const SUFFIX = /^[0-9a-f]{6}$/;

/** A value that is not a batch id; the message names the value and the rule. */
export class InvalidBatchIdError extends Error {
  override readonly name = 'InvalidBatchIdError';
}

/**
 * The one batch id generator. `suffix` (6 hex digits) is random by default; a source that must find the
 * same id again for the same file (SFTP, inbox) passes one derived from the file's identity.
 */
export function newBatchId(
  at: Date = new Date(),
  suffix: string = crypto.randomBytes(3).toString('hex'),
): string {
  if (Number.isNaN(at.getTime())) throw new RangeError('a batch id needs a valid date');
  if (!SUFFIX.test(suffix))
    throw new RangeError(`a batch id suffix is 6 lower-case hex digits, got ${suffix}`);
  const iso = at.toISOString();
  return `${iso.slice(0, 10).replaceAll('-', '')}-${iso.slice(11, 19).replaceAll(':', '')}-${suffix}`;
}

/** Why `value` is not a batch id (the pattern, and a real UTC date and time), or undefined when it is one. */
export function batchIdProblem(value: unknown): string | undefined {
  const match = typeof value === 'string' ? BATCH_ID_PATTERN.exec(value) : null;
  if (!match) return `a batch id looks like ${EXAMPLE} (YYYYMMDD-HHMMSS-6 hex)`;
  const [year, month, day, hour, minute, second] = match.slice(1, 7).map(Number) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  const date = new Date(Date.UTC(year, month - 1, day, hour, minute, second));
  const real =
    date.getUTCFullYear() === year &&
    date.getUTCMonth() === month - 1 &&
    date.getUTCDate() === day &&
    date.getUTCHours() === hour &&
    date.getUTCMinutes() === minute &&
    date.getUTCSeconds() === second;
  return real ? undefined : 'the batch id holds no real UTC date and time';
}

export function isBatchId(value: unknown): value is string {
  return batchIdProblem(value) === undefined;
}

/** Returns the value when it is a batch id; throws InvalidBatchIdError naming it otherwise. */
export function assertBatchId(value: string): string {
  const problem = batchIdProblem(value);
  if (problem) throw new InvalidBatchIdError(`invalid batch id ${JSON.stringify(value)}: ${problem}`);
  return value;
}

/** The batch id in every payload and repository input. */
export const batchIdSchema = z.string().refine(isBatchId, `must look like ${EXAMPLE} (a real UTC time)`);
