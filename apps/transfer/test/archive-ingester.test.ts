import fs from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { newBatchId, unpackPayload } from '@audio/queues';
import { archiveKey } from '@audio/storage';
import { ArchiveConflictError, InvalidArchiveError, type TransferContext } from '../src/index.js';
import { openTestTransfer, sha256File, writeTestArchive, type TestTransfer } from './support/test-context.js';

describe('ArchiveIngester (Swift, Redis, Postgres)', () => {
  let t: TestTransfer;
  let context: TransferContext;

  beforeAll(async () => {
    t = await openTestTransfer();
    context = t.context;
  });
  afterAll(async () => {
    await t?.close();
  });

  it('uploads, verifies, records the batch and queues unpack with jobId = batch id', async () => {
    const file = path.join(t.dir, 'first.tar');
    await writeTestArchive(file);
    const { size } = await fs.stat(file);
    const sha256 = await sha256File(file);

    const result = await context.ingester.ingest(file, { source: 'test:first' });
    t.batchIds.add(result.batchId);

    expect(result).toMatchObject({
      archiveKey: archiveKey(result.batchId),
      sha256,
      sizeBytes: size,
      created: true,
      uploaded: true,
      queued: true,
    });
    const head = await context.store.head(result.archiveKey);
    expect(head).toMatchObject({ size, metadata: { sha256 } });
    const batch = await context.batches.get(result.batchId);
    expect(batch).toMatchObject({
      archiveKey: result.archiveKey,
      sha256,
      source: 'test:first',
      status: 'transferred',
    });
    expect(Number(batch!.sizeBytes)).toBe(size);
    const job = await context.unpackQueue.getJob(result.batchId);
    const payload = unpackPayload.parse(job!.data);
    expect(payload).toEqual({
      batchId: result.batchId,
      s3Key: result.archiveKey,
      transferredAt: batch!.transferredAt.toISOString(),
      sha256,
      sizeBytes: size,
      source: 'test:first',
      run: 0,
    });
    expect(job!.opts.attempts).toBe(3);
    // The file is the source's to remove, not the ingester's.
    await expect(fs.stat(file)).resolves.toBeTruthy();
  });

  it('ingesting the same file under the same batch id again sends and queues nothing new', async () => {
    const file = path.join(t.dir, 'repeat.tar');
    await writeTestArchive(file);
    const batchId = newBatchId();
    t.batchIds.add(batchId);
    const first = await context.ingester.ingest(file, { source: 'test:repeat', batchId });
    const before = await context.batches.get(batchId);
    const waitingBefore = await context.unpackQueue.getWaitingCount();

    const again = await context.ingester.ingest(file, { source: 'test:repeat', batchId });

    expect(again).toMatchObject({
      batchId,
      sha256: first.sha256,
      created: false,
      uploaded: false,
      queued: true,
    });
    expect((await context.batches.get(batchId))!.transferredAt).toEqual(before!.transferredAt);
    expect(await context.unpackQueue.getWaitingCount()).toBe(waitingBefore);
  });

  it('refuses another archive under a batch id that already has one, leaving the first intact', async () => {
    const first = path.join(t.dir, 'one.tar');
    const second = path.join(t.dir, 'two.tar');
    await writeTestArchive(first);
    await writeTestArchive(second);
    const batchId = newBatchId();
    t.batchIds.add(batchId);
    const ingested = await context.ingester.ingest(first, { source: 'test:one', batchId });

    const attempt = context.ingester.ingest(second, { source: 'test:two', batchId });

    await expect(attempt).rejects.toThrow(ArchiveConflictError);
    await expect(attempt).rejects.toThrow(`batch ${batchId} already has a different archive`);
    expect((await context.store.head(archiveKey(batchId)))?.metadata.sha256).toBe(ingested.sha256);
  });

  it.each([
    ['missing.tar', 'it does not exist', async (_file: string) => undefined],
    ['empty.tar', 'it is empty', (file: string) => fs.writeFile(file, '')],
    ['a-directory.tar', 'not a regular file', (file: string) => fs.mkdir(file)],
    ['short.tar', 'less than one tar header', (file: string) => fs.writeFile(file, 'x'.repeat(100))],
    ['notes.tar', 'not a tar archive', (file: string) => fs.writeFile(file, 'not a tar\n'.repeat(100))],
  ])('refuses %s (%s) before anything reaches S3 or the database', async (name, reason, make) => {
    const file = path.join(t.dir, name);
    await make(file);
    const batchId = newBatchId();

    const attempt = context.ingester.ingest(file, { source: 'test:bad', batchId });

    await expect(attempt).rejects.toThrow(InvalidArchiveError);
    await expect(attempt).rejects.toThrow(`${file} is not an archive to ingest: `);
    await expect(attempt).rejects.toThrow(reason);
    expect(await context.store.head(archiveKey(batchId))).toBeUndefined();
    expect(await context.batches.get(batchId)).toBeNull();
  });

  it('links the same archive ingested again under a new batch id to the first batch (issue 16, bug 5)', async () => {
    const file = path.join(t.dir, 'twice.tar');
    await writeTestArchive(file);
    const first = await context.ingester.ingest(file, { source: 'test:twice' });
    t.batchIds.add(first.batchId);
    const secondId = newBatchId();
    const again = await context.ingester.ingest(file, { source: 'test:twice-again', batchId: secondId });

    expect(again).toMatchObject({
      batchId: first.batchId,
      archiveKey: first.archiveKey,
      sha256: first.sha256,
      created: false,
      queued: false,
      duplicateOf: first.batchId,
    });
    // No second batch (whose flagged files would reach the review queue twice), no second job,
    // and the copy just uploaded is gone again; the first archive stays.
    expect(await context.batches.get(secondId)).toBeNull();
    expect(await context.unpackQueue.getJob(secondId)).toBeUndefined();
    expect(await context.store.head(archiveKey(secondId))).toBeUndefined();
    expect(await context.store.head(first.archiveKey)).not.toBeNull();
  });
});
