import crypto from 'node:crypto';
import { InvalidKeyError } from './errors.js';

/** `YYYYMMDD-HHMMSS-xxxxxx`: UTC time of the transfer plus 6 random hex digits, e.g. `20250622-143052-a1b2c3`. */
export const BATCH_ID_PATTERN = /^(\d{4})(\d{2})(\d{2})-(\d{2})(\d{2})(\d{2})-[0-9a-f]{6}$/;

/** A new batch id for a transfer starting at `now` (UTC); ids sort by time. */
export function newBatchId(now: Date = new Date()): string {
  const pad = (n: number, width = 2) => String(n).padStart(width, '0');
  const date = `${pad(now.getUTCFullYear(), 4)}${pad(now.getUTCMonth() + 1)}${pad(now.getUTCDate())}`;
  const time = `${pad(now.getUTCHours())}${pad(now.getUTCMinutes())}${pad(now.getUTCSeconds())}`;
  return `${date}-${time}-${crypto.randomBytes(3).toString('hex')}`;
}

/** Returns the value when it is a well-formed batch id with a real date and time; throws otherwise. */
export function assertBatchId(value: string): string {
  const match = typeof value === 'string' ? BATCH_ID_PATTERN.exec(value) : null;
  if (!match)
    throw new InvalidKeyError(value, 'a batch id looks like 20250622-143052-a1b2c3 (YYYYMMDD-HHMMSS-6 hex)');
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
  if (!real) throw new InvalidKeyError(value, 'the batch id holds no real UTC date and time');
  return value;
}
