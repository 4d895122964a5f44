import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { newBatchId, unpackPayload } from '@audio/queues';
import { replayBatch, ReplayError, type IngestResult } from '../src/index.js';
import { openTestTransfer, writeTestArchive, type TestTransfer } from './support/test-context.js';

describe('replayBatch', () => {
  let t: TestTransfer;
  let ingested: IngestResult;

  beforeAll(async () => {
    t = await openTestTransfer();
    const file = path.join(t.dir, 'replayed.tar');
    await writeTestArchive(file);
    ingested = await t.context.ingester.ingest(file, { source: 'test:replay' });
    t.batchIds.add(ingested.batchId);
  });
  afterAll(async () => {
    await t?.close();
  });

  it('refuses while the first unpack job has not run, unless forced', async () => {
    const attempt = replayBatch(ingested.batchId, t.context);
    await expect(attempt).rejects.toThrow(ReplayError);
    await expect(attempt).rejects.toThrow('its first unpack job is still waiting');

    const forced = await replayBatch(ingested.batchId, t.context, { force: true, run: 1_700_000_000 });
    expect(forced).toMatchObject({
      jobId: `${ingested.batchId}-replay-1700000000`,
      firstJobState: 'waiting',
    });
  });

  it('queues a run of its own with the recorded archive once the first run is gone', async () => {
    // The first run's job was taken by a host that died; BullMQ has since dropped it.
    await (await t.context.unpackQueue.getJob(ingested.batchId))!.remove();
    const batch = (await t.context.batches.get(ingested.batchId))!;

    const result = await replayBatch(ingested.batchId, t.context, { run: 1_800_000_000 });

    expect(result).toMatchObject({
      run: 1_800_000_000,
      previousStatus: 'transferred',
      s3Key: ingested.archiveKey,
    });
    const job = await t.context.unpackQueue.getJob(`${ingested.batchId}-replay-1800000000`);
    expect(unpackPayload.parse(job!.data)).toEqual({
      batchId: ingested.batchId,
      s3Key: ingested.archiveKey,
      transferredAt: batch.transferredAt.toISOString(),
      sha256: ingested.sha256,
      sizeBytes: ingested.sizeBytes,
      source: 'test:replay',
      run: 1_800_000_000,
    });
    // The same run again is the same job: a repeated command changes nothing.
    await replayBatch(ingested.batchId, t.context, { run: 1_800_000_000 });
    expect(await t.context.unpackQueue.getJobCountByTypes('waiting')).toBe(2);

    // Two actions within one second (a retry, then a replay) get runs, and so flows, of their own.
    const first = await replayBatch(ingested.batchId, t.context);
    const second = await replayBatch(ingested.batchId, t.context);
    expect(second.run).toBeGreaterThan(first.run);
    expect(await t.context.unpackQueue.getJobCountByTypes('waiting')).toBe(4);
  });

  it('names the batch and the reason when there is nothing to replay', async () => {
    const unknown = newBatchId();
    await expect(replayBatch(unknown, t.context)).rejects.toThrow(
      `cannot replay batch ${unknown}: no such batch in the database`,
    );
    await expect(replayBatch('not-a-batch', t.context)).rejects.toThrow('cannot replay batch not-a-batch');

    await t.context.store.delete(ingested.archiveKey);
    await expect(replayBatch(ingested.batchId, t.context)).rejects.toThrow(
      `its archive ${ingested.archiveKey} is not in bucket`,
    );
  });
});
