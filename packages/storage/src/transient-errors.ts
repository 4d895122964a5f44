// Our own retry layer above the SDK's: a part is re-read from disk and sent again, a download resumes
// with Range. Both retry exactly what the SDK's standard strategy retries, plus dropped response bodies.
import { setTimeout as sleep } from 'node:timers/promises';

const RETRYABLE_STATUS = new Set([408, 429, 500, 502, 503, 504]);
const RETRYABLE_NAMES = new Set([
  'SlowDown',
  'Throttling',
  'ThrottlingException',
  'RequestThrottled',
  'TooManyRequestsException',
  'RequestTimeout',
  'RequestTimeoutException',
  'TimeoutError',
  'InternalError',
  'ServiceUnavailable',
]);
const RETRYABLE_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
  'ERR_STREAM_PREMATURE_CLOSE',
  'UND_ERR_SOCKET',
]);

interface ErrorShape {
  name?: unknown;
  code?: unknown;
  message?: unknown;
  cause?: unknown;
  $metadata?: { httpStatusCode?: number };
}

/** True for failures that another attempt may not meet: 5xx, throttling, timeouts, dropped connections. */
export function isTransientStorageError(error: unknown, depth = 0): boolean {
  if (!error || typeof error !== 'object' || depth > 5) return false;
  const e = error as ErrorShape;
  if (e.name === 'AbortError') return false;
  const status = e.$metadata?.httpStatusCode;
  if (typeof status === 'number' && RETRYABLE_STATUS.has(status)) return true;
  if (typeof e.name === 'string' && RETRYABLE_NAMES.has(e.name)) return true;
  if (typeof e.code === 'string' && RETRYABLE_CODES.has(e.code)) return true;
  // Node's IncomingMessage reports a body cut short as a plain Error('aborted').
  if (e.message === 'aborted' || e.message === 'socket hang up') return true;
  // The SDK rewraps a thrown value that is not an Error of its own realm (jest's vm modules, for one) as
  // `AWS SDK error wrapper for <name>: <message>`, dropping name and code: read them from the text.
  const wrapped =
    typeof e.message === 'string' ? /^AWS SDK error wrapper for (\w+)(?::\s*(.*))?$/s.exec(e.message) : null;
  if (wrapped) {
    const [, name, message = ''] = wrapped;
    return RETRYABLE_NAMES.has(name!) || /socket hang up|aborted|ECONNRESET|EPIPE|ETIMEDOUT/.test(message);
  }
  return isTransientStorageError(e.cause, depth + 1);
}

export interface RetryOptions {
  /** Attempts in all, including the first. */
  attempts: number;
  baseDelayMs?: number;
  maxDelayMs?: number;
  signal?: AbortSignal;
  /** Called before each new attempt with the failure that caused it. */
  onRetry?: (error: unknown, attempt: number) => void;
}

/** Full-jitter exponential backoff: a random delay in [0, min(max, base · 2^attempt)). */
export function backoffDelay(attempt: number, baseDelayMs = 200, maxDelayMs = 10_000): number {
  return Math.random() * Math.min(maxDelayMs, baseDelayMs * 2 ** attempt);
}

/** Runs `fn` until it succeeds, fails with a non-transient error, or runs out of attempts. */
export async function retryTransient<T>(
  fn: (attempt: number) => Promise<T>,
  options: RetryOptions,
): Promise<T> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await fn(attempt);
    } catch (error) {
      if (attempt >= options.attempts || !isTransientStorageError(error) || options.signal?.aborted)
        throw error;
      options.onRetry?.(error, attempt);
      await sleep(backoffDelay(attempt - 1, options.baseDelayMs, options.maxDelayMs), undefined, {
        signal: options.signal,
      });
    }
  }
}
