// The bucket's key layout. Keys end up in local paths (scratch, downloads) and in other tools' listings,
// so every key is checked before it reaches S3: no traversal, no absolute paths, no empty segments.
import { batchIdProblem } from '@audio/queues';
import { InvalidKeyError } from './errors.js';

/** S3's own limit on a key, in UTF-8 bytes. */
const MAX_KEY_BYTES = 1024;
// C0 controls and DEL: invisible in logs and listings, and NUL truncates paths.
// eslint-disable-next-line no-control-regex
const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f]/;
const AUDIO_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$/;
const DAY_PATTERN = /^(\d{4})-(\d{2})-(\d{2})$/;

/** Returns the key when it is safe to use as an object key; throws InvalidKeyError naming it otherwise. */
export function assertSafeKey(key: string): string {
  if (typeof key === 'string' && key.endsWith('/'))
    throw new InvalidKeyError(key, 'a key must not end with "/" (empty segment)');
  checkKeyText(key, 'key');
  return key;
}

/**
 * Like assertSafeKey for a listing prefix: the empty prefix (the whole bucket) and a trailing `/` are
 * allowed, everything else follows the key rules.
 */
export function assertSafePrefix(prefix: string): string {
  if (prefix === '') return prefix;
  checkKeyText(prefix.endsWith('/') ? prefix.slice(0, -1) : prefix, 'prefix', prefix);
  return prefix;
}

function checkKeyText(text: string, what: 'key' | 'prefix', shown: string = text): void {
  if (typeof text !== 'string') throw new InvalidKeyError(shown, `a ${what} must be a string`);
  if (text.length === 0) throw new InvalidKeyError(shown, `a ${what} must not be empty`);
  if (Buffer.byteLength(text, 'utf8') > MAX_KEY_BYTES)
    throw new InvalidKeyError(shown, `a ${what} must be at most ${MAX_KEY_BYTES} bytes of UTF-8`);
  if (CONTROL_CHARACTERS.test(text))
    throw new InvalidKeyError(shown, `a ${what} must not contain control characters`);
  if (text.startsWith('/')) throw new InvalidKeyError(shown, `a ${what} must not start with "/"`);
  for (const segment of text.split('/')) {
    if (segment === '')
      throw new InvalidKeyError(shown, `a ${what} must not contain an empty segment ("//")`);
    if (segment === '..' || segment === '.')
      throw new InvalidKeyError(shown, `a ${what} must not contain a "${segment}" segment`);
  }
}

/** `archives/{batchId}.tar`: the archive as transferred, kept until the batch is done. */
export function archiveKey(batchId: string): string {
  return `archives/${checkBatchId(batchId)}.tar`;
}

/**
 * `processed/YYYY-MM-DD/{audioId}.opus`; the day is the UTC day of `date` (a Date, `YYYY-MM-DD`, or an
 * ISO timestamp).
 */
export function processedOpusKey(date: Date | string, audioId: string): string {
  if (typeof audioId !== 'string' || !AUDIO_ID_PATTERN.test(audioId))
    throw new InvalidKeyError(
      audioId,
      'an audio id is 1-200 of A-Z a-z 0-9 . _ - and starts with a letter or digit',
    );
  return `processed/${utcDay(date)}/${audioId}.opus`;
}

/** `models/…`: model files mirrored for GPU hosts; each segment may hold `/` but must stay a safe key. */
export function modelKey(...segments: string[]): string {
  if (segments.length === 0) throw new InvalidKeyError('models/', 'a model key needs at least one segment');
  return assertSafeKey(['models', ...segments].join('/'));
}

function utcDay(date: Date | string): string {
  if (date instanceof Date) {
    if (Number.isNaN(date.getTime())) throw new InvalidKeyError(String(date), 'not a valid date');
    return date.toISOString().slice(0, 10);
  }
  if (typeof date === 'string') {
    const day = DAY_PATTERN.exec(date);
    if (day) {
      const parsed = new Date(`${date}T00:00:00Z`);
      if (!Number.isNaN(parsed.getTime()) && parsed.toISOString().slice(0, 10) === date) return date;
    } else if (/^\d{4}-\d{2}-\d{2}T/.test(date)) {
      const parsed = new Date(date);
      if (!Number.isNaN(parsed.getTime())) return parsed.toISOString().slice(0, 10);
    }
  }
  throw new InvalidKeyError(date, 'a date is a Date, YYYY-MM-DD or an ISO timestamp');
}

/** A batch id (the contract's rule) as a key segment or directory name; InvalidKeyError otherwise. */
export function checkBatchId(batchId: string): string {
  const problem = batchIdProblem(batchId);
  if (problem) throw new InvalidKeyError(batchId, problem);
  return batchId;
}
