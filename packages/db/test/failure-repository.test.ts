import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { DbInputError, FailureRepository } from '../src/index.js';
import { openFreshDb, type FreshDb } from './support/fresh-db.js';

describe('FailureRepository', () => {
  let fresh: FreshDb;
  let failures: FailureRepository;

  beforeAll(async () => {
    fresh = await openFreshDb();
    failures = new FailureRepository(fresh.db);
  });
  afterAll(() => fresh?.close());

  it('keeps one row per (batch, entry, stage), updated by retries, even concurrent ones', async () => {
    const batchId = '20250622-143052-a1b2c3';
    await failures.record({
      batchId,
      entry: 'x.mp3',
      stage: 'convert',
      reasonCode: 'decode_error',
      message: 'first',
      attempts: 1,
    });
    await Promise.all(
      [2, 3, 4].map((attempts) =>
        failures.record({
          batchId,
          entry: 'x.mp3',
          stage: 'convert',
          reasonCode: 'decode_error',
          message: `try ${attempts}`,
          attempts,
        }),
      ),
    );
    await failures.record({
      batchId,
      entry: 'x.mp3',
      stage: 'transcribe',
      reasonCode: 'timeout',
      message: 'slow',
      attempts: 2,
    });
    // A transfer can fail before its batch row exists.
    await failures.record({
      batchId,
      entry: '',
      stage: 'transfer',
      reasonCode: 'sftp_error',
      message: 'reset',
      attempts: 5,
    });

    const rows = await failures.listByBatch(batchId);
    expect(rows.map((r) => [r.entry, r.stage, r.reasonCode])).toEqual([
      ['', 'transfer', 'sftp_error'],
      ['x.mp3', 'convert', 'decode_error'],
      ['x.mp3', 'transcribe', 'timeout'],
    ]);
    expect(rows[1]!.attempts).toBeGreaterThanOrEqual(2);
    expect(rows[1]!.message).toBe(`try ${rows[1]!.attempts}`);
    expect(rows[1]!.updatedAt.getTime()).toBeGreaterThanOrEqual(rows[1]!.createdAt.getTime());
  });

  it('refuses an unknown stage by name', async () => {
    await expect(
      failures.record({
        batchId: 'b',
        entry: 'e',
        stage: 'upload' as 'convert',
        reasonCode: 'r',
        message: 'm',
        attempts: 1,
      }),
    ).rejects.toThrow(
      new DbInputError(
        'stage',
        'record failure: stage must be one of transfer, unpack, convert, transcribe, finalize, classify',
      ),
    );
  });
});
