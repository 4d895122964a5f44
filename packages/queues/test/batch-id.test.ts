import { describe, expect, it } from '@jest/globals';
import {
  assertBatchId,
  BATCH_ID_PATTERN,
  batchIdSchema,
  InvalidBatchIdError,
  newBatchId,
} from '../src/index.js';

describe('batch ids', () => {
  it('are made from the UTC time plus 6 hex digits', () => {
    const id = newBatchId(new Date('2025-06-22T14:30:52Z'));
    expect(id).toMatch(/^20250622-143052-[0-9a-f]{6}$/);
    expect(BATCH_ID_PATTERN.test(id)).toBe(true);
    expect(assertBatchId(id)).toBe(id);
    expect(newBatchId(new Date('2025-06-22T14:30:52Z'), 'a1b2c3')).toBe('20250622-143052-a1b2c3');
    expect(() => newBatchId(new Date(), 'A1B2C3')).toThrow(RangeError);
  });

  it.each([
    ['', 'empty'],
    ['20250622-143052-A1B2C3', 'upper-case hex'],
    ['20250622-143052-a1b2c', 'short suffix'],
    ['20250230-143052-a1b2c3', 'no 30 February'],
    ['20250622-246052-a1b2c3', 'hour 24'],
    ['../20250622-143052-a1b2c3', 'traversal'],
  ])('refuses %j (%s), naming the value', (value) => {
    expect(() => assertBatchId(value)).toThrow(InvalidBatchIdError);
    expect(() => assertBatchId(value)).toThrow(JSON.stringify(value));
  });
});

describe('batchIdSchema', () => {
  it('is the same rule as assertBatchId, real date included', () => {
    expect(batchIdSchema.safeParse('20250622-143052-a1b2c3').success).toBe(true);
    expect(batchIdSchema.safeParse('20250230-143052-a1b2c3').success).toBe(false);
  });
});
