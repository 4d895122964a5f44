import { describe, expect, it } from '@jest/globals';
import { isTransientStorageError, retryTransient } from '../src/index.js';

const withStatus = (status: number, name = 'Error') =>
  Object.assign(new Error(name), { name, $metadata: { httpStatusCode: status } });

describe('isTransientStorageError', () => {
  it.each([
    ['503 SlowDown', withStatus(503, 'SlowDown')],
    ['500 InternalError', withStatus(500, 'InternalError')],
    ['a reset connection', Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' })],
    ['a body cut short', new Error('aborted')],
    ['an idle timeout', Object.assign(new Error('socket timed out'), { name: 'TimeoutError' })],
    [
      'a cause that is transient',
      new Error('outer', { cause: Object.assign(new Error(), { code: 'EPIPE' }) }),
    ],
    [
      'the SDK wrapper of a foreign error',
      new Error('AWS SDK error wrapper for TimeoutError: socket hang up'),
    ],
  ])('retries %s', (_, error) => expect(isTransientStorageError(error)).toBe(true));

  it.each([
    ['404 NoSuchKey', withStatus(404, 'NoSuchKey')],
    ['400 BadDigest', withStatus(400, 'BadDigest')],
    ['403 AccessDenied', withStatus(403, 'AccessDenied')],
    ['501 NotImplemented', withStatus(501, 'NotImplemented')],
    ['an abort', Object.assign(new Error('aborted by caller'), { name: 'AbortError' })],
    ['a non-error', 'ECONNRESET'],
  ])('does not retry %s', (_, error) => expect(isTransientStorageError(error)).toBe(false));
});

describe('retryTransient', () => {
  it('retries transient failures until an attempt succeeds, and stops at the first permanent one', async () => {
    let calls = 0;
    const value = await retryTransient(
      async () => {
        calls += 1;
        if (calls < 3) throw withStatus(503, 'SlowDown');
        return 'done';
      },
      { attempts: 5, baseDelayMs: 1 },
    );
    expect([value, calls]).toEqual(['done', 3]);

    calls = 0;
    const permanent = retryTransient(
      async () => {
        calls += 1;
        throw withStatus(403, 'AccessDenied');
      },
      { attempts: 5, baseDelayMs: 1 },
    );
    await expect(permanent).rejects.toMatchObject({ name: 'AccessDenied' });
    expect(calls).toBe(1);
  });
});
