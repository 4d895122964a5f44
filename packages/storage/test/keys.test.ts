import { describe, expect, it } from '@jest/globals';
import {
  archiveKey,
  assertSafeKey,
  assertSafePrefix,
  InvalidKeyError,
  modelKey,
  processedOpusKey,
} from '../src/index.js';

describe('key layout', () => {
  it('places archives, processed opus files and models', () => {
    expect(archiveKey('20250622-143052-a1b2c3')).toBe('archives/20250622-143052-a1b2c3.tar');
    expect(processedOpusKey(new Date('2025-06-22T23:59:59Z'), 'abc-1')).toBe(
      'processed/2025-06-22/abc-1.opus',
    );
    expect(processedOpusKey('2025-06-22', 'x')).toBe('processed/2025-06-22/x.opus');
    expect(processedOpusKey('2025-06-22T23:30:00-02:00', 'x')).toBe('processed/2025-06-23/x.opus');
    expect(modelKey('whisperx', 'large-v3/model.bin')).toBe('models/whisperx/large-v3/model.bin');
  });

  it('refuses bad batch ids, audio ids and dates', () => {
    expect(() => archiveKey('../../etc/passwd')).toThrow(InvalidKeyError);
    expect(() => processedOpusKey('2025-06-22', '../x')).toThrow(InvalidKeyError);
    expect(() => processedOpusKey('2025-06-22', 'a/b')).toThrow(InvalidKeyError);
    expect(() => processedOpusKey('2025-02-30', 'x')).toThrow(/YYYY-MM-DD/);
    expect(() => processedOpusKey(new Date('nope'), 'x')).toThrow(InvalidKeyError);
    expect(() => modelKey()).toThrow(InvalidKeyError);
    expect(() => modelKey('a', '../b')).toThrow(InvalidKeyError);
  });

  it.each([
    ['', 'must not be empty'],
    ['/archives/x.tar', 'must not start with "/"'],
    ['archives//x.tar', 'empty segment'],
    ['archives/', 'must not end with "/"'],
    ['archives/../secrets', '".." segment'],
    ['..', '".." segment'],
    ['a/./b', '"." segment'],
    ['a\u0000b', 'control characters'],
    ['a\nb', 'control characters'],
    ['x'.repeat(1025), 'at most 1024 bytes'],
  ])('refuses the key %j: %s', (key, reason) => {
    expect(() => assertSafeKey(key)).toThrow(InvalidKeyError);
    expect(() => assertSafeKey(key)).toThrow(reason);
  });

  it('accepts ordinary keys and prefixes', () => {
    expect(assertSafeKey('processed/2025-06-22/a b+c.opus')).toBe('processed/2025-06-22/a b+c.opus');
    expect(assertSafePrefix('')).toBe('');
    expect(assertSafePrefix('processed/')).toBe('processed/');
    expect(() => assertSafePrefix('../')).toThrow(InvalidKeyError);
  });
});
