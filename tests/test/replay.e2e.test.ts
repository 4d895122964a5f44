import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startGpuApp } from '@audio/gpu';
import { makeSampleArchive } from '@audio/fixtures';
import { createLogger } from '@audio/logger';
import { openTransferContext, replayBatch, type TransferContext } from '@audio/transfer';
import { startUnpackApp } from '@audio/unpack';
import {
  batchRowCounts,
  createPipelineTestEnv,
  waitFor,
  waitForBatchDone,
  type PipelineTestEnv,
} from './support/index.js';

let t: PipelineTestEnv;
let transfer: TransferContext;
let work: string;
const logger = createLogger({ name: 'test', pretty: false, level: 'warn' });

/** Each host has its own id (so its own queues) and its own scratch disk. */
const hostEnv = (name: string) => {
  const scratch = path.join(t.scratchRoot, name);
  fs.mkdirSync(scratch, { recursive: true });
  return { ...t.env, HOST_ID: `${t.hostId}-${name}`, SCRATCH_ROOT: scratch };
};

beforeAll(async () => {
  t = await createPipelineTestEnv('replay');
  transfer = await openTransferContext({ env: t.env, logger });
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'replay-e2e-'));
});
afterAll(async () => {
  await transfer?.close();
  await t?.close();
  fs.rmSync(work, { recursive: true, force: true });
});

describe('a host that dies mid-batch', () => {
  it('is replaced by a replay from the S3 archive on another host, and its late return changes nothing', async () => {
    const sample = await makeSampleArchive(path.join(work, 'sample.tar'));
    const { batchId } = await transfer.ingester.ingest(sample.path, { source: 'test' });

    // Host A unpacks the batch, then dies before its GPU app transcribed anything.
    const envA = hostEnv('a');
    const unpackA = await startUnpackApp({ env: envA, logger });
    await waitFor('host A to unpack the batch', async () => {
      const batch = await t.db.prisma.batch.findUnique({ where: { batchId } });
      return batch?.status === 'unpacked' ? batch : undefined;
    });
    await unpackA.close();
    expect(await t.db.prisma.audioFile.count({ where: { batchId } })).toBe(0);

    // An operator replays it; host B takes it from the shared unpack queue and finishes it.
    const replay = await replayBatch(batchId, {
      batches: transfer.batches,
      store: transfer.store,
      unpackQueue: transfer.unpackQueue,
    });
    expect(replay.previousStatus).toBe('unpacked');
    const envB = hostEnv('b');
    const [gpuB, unpackB] = [
      await startGpuApp({ env: envB, logger }),
      await startUnpackApp({ env: envB, logger }),
    ];
    const done = await waitForBatchDone(t.db, batchId);
    await unpackB.close();
    await gpuB.close();
    expect(done).toMatchObject({ status: 'complete', host: envB.HOST_ID, succeededCount: 8, failedCount: 2 });
    const counts = { audioFiles: 8, transcripts: 8, classifications: 8, failures: 2 };
    expect(await batchRowCounts(t.db, batchId)).toEqual(counts);
    const rows = await t.db.prisma.audioFile.findMany({ where: { batchId }, orderBy: { id: 'asc' } });
    for (const row of rows) expect(await t.store.exists(row.s3OpusPath!)).toBe(true);
    expect(fs.existsSync(path.join(envB.SCRATCH_ROOT, batchId))).toBe(false);

    // Host A comes back and works off its stale jobs: idempotent writes, and its finalize stands down.
    const gpuA = await startGpuApp({ env: envA, logger });
    const unpackAgain = await startUnpackApp({ env: envA, logger });
    await waitFor('host A to clean its scratch', async () =>
      fs.existsSync(path.join(envA.SCRATCH_ROOT, batchId)) ? undefined : true,
    );
    await unpackAgain.close();
    await gpuA.close();
    expect(await batchRowCounts(t.db, batchId)).toEqual(counts);
    expect(await t.db.prisma.audioFile.findMany({ where: { batchId }, orderBy: { id: 'asc' } })).toEqual(
      rows,
    );
    expect(await t.db.prisma.batch.findUnique({ where: { batchId } })).toMatchObject({
      status: 'complete',
      host: envB.HOST_ID,
      succeededCount: 8,
      failedCount: 2,
    });
  });
});
