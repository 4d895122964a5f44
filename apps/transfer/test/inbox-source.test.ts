import fs from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { InboxSource, type InboxConfig } from '../src/index.js';
import {
  age,
  openTestTransfer,
  sha256File,
  silentLogger,
  writeTestArchive,
  type TestTransfer,
} from './support/test-context.js';

describe('InboxSource', () => {
  let t: TestTransfer;
  let inbox: string;

  const source = (overrides: Partial<InboxConfig> = {}) =>
    new InboxSource(
      {
        dir: inbox,
        pattern: '*.tar',
        pollIntervalMs: 1000,
        minAgeMs: 30_000,
        deleteAfterIngest: false,
        ...overrides,
      },
      { ingester: t.context.ingester, logger: silentLogger() },
    );

  beforeAll(async () => {
    t = await openTestTransfer();
  });
  afterAll(async () => {
    await t?.close();
  });
  beforeEach(async () => {
    inbox = await fs.mkdtemp(path.join(t.dir, 'inbox-'));
  });

  it('takes a file once it was unchanged across two polls and is old enough, then moves it to done/', async () => {
    const file = path.join(inbox, 'drop.tar');
    await writeTestArchive(file);
    await age(file, 120);
    const sha256 = await sha256File(file);
    const young = path.join(inbox, 'young.tar');
    await writeTestArchive(young);
    const changing = path.join(inbox, 'changing.tar');
    await writeTestArchive(changing);
    await age(changing, 120);
    const inboxSource = source();

    const first = await inboxSource.pollOnce();
    await fs.appendFile(changing, Buffer.alloc(512)); // still being written between the two looks
    await age(changing, 120);
    const second = await inboxSource.pollOnce();

    expect(first.ingested).toEqual([]);
    expect(first.waiting).toHaveLength(3);
    expect(second.waiting.sort()).toEqual([changing, young].sort());
    expect(second.ingested).toEqual([
      expect.objectContaining({
        file,
        sha256,
        created: true,
        donePath: path.join(inbox, 'done', 'drop.tar'),
      }),
    ]);
    const batchId = second.ingested[0]!.batchId;
    t.batchIds.add(batchId);
    expect(await sha256File(path.join(inbox, 'done', 'drop.tar'))).toBe(sha256);
    expect(await t.context.batches.get(batchId)).toMatchObject({ sha256, source: `file://${file}` });
    expect(await t.context.unpackQueue.getJob(batchId)).toBeDefined();
  });

  it('moves a file that is not a tar archive to rejected/ with the reason beside it', async () => {
    const file = path.join(inbox, 'photo.tar');
    await fs.writeFile(file, Buffer.alloc(4096, 0xff));
    await age(file, 120);
    const inboxSource = source({ minAgeMs: 0 });

    await inboxSource.pollOnce();
    const result = await inboxSource.pollOnce();

    expect(result.rejected).toEqual([
      {
        file,
        rejectedPath: expect.stringMatching(/\/rejected\/photo\.tar$/),
        reason: expect.stringContaining('not a tar archive'),
      },
    ]);
    const reason = await fs.readFile(`${result.rejected[0]!.rejectedPath}.reason.txt`, 'utf8');
    expect(reason).toContain(`${file} is not an archive to ingest`);
    await expect(fs.stat(file)).rejects.toThrow('ENOENT');
  });

  it('deletes the file after ingest with INBOX_DELETE_AFTER_INGEST, and never takes a name twice into done/', async () => {
    await fs.mkdir(path.join(inbox, 'done'));
    await fs.writeFile(path.join(inbox, 'done', 'daily.tar'), 'earlier');
    const kept = path.join(inbox, 'daily.tar');
    await writeTestArchive(kept);
    await age(kept, 120);
    const keeping = source({ minAgeMs: 0 });
    await keeping.pollOnce();
    const moved = await keeping.pollOnce();
    const movedId = moved.ingested[0]!.batchId;
    t.batchIds.add(movedId);
    expect(moved.ingested[0]!.donePath).toBe(path.join(inbox, 'done', `daily.${movedId}.tar`));
    expect(await fs.readFile(path.join(inbox, 'done', 'daily.tar'), 'utf8')).toBe('earlier');

    const deleted = path.join(inbox, 'once.tar');
    await writeTestArchive(deleted);
    await age(deleted, 120);
    const deleting = source({ minAgeMs: 0, deleteAfterIngest: true });
    await deleting.pollOnce();
    const result = await deleting.pollOnce();
    t.batchIds.add(result.ingested[0]!.batchId);
    expect(result.ingested[0]!.donePath).toBeUndefined();
    await expect(fs.stat(deleted)).rejects.toThrow('ENOENT');
    expect(await fs.readdir(path.join(inbox, 'done'))).toHaveLength(2);
  });
});
