import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { makeSampleArchive } from '@audio/fixtures';
import { readTransferConfig, SftpSource } from '@audio/transfer';
import { startTestSshd, type TestSshd } from '@audio/transfer/test-support';
import {
  batchRowCounts,
  createPipelineTestEnv,
  startInProcessApps,
  waitForBatchDone,
  type InProcessApps,
  type PipelineTestEnv,
} from './support/index.js';

let t: PipelineTestEnv;
let apps: InProcessApps;
let sshd: TestSshd;
let tempDir: string;

beforeAll(async () => {
  [t, sshd] = await Promise.all([createPipelineTestEnv('sftp'), startTestSshd()]);
  apps = await startInProcessApps(t);
  tempDir = fs.mkdtempSync(path.join(os.tmpdir(), 'sftp-e2e-'));
});
afterAll(async () => {
  await apps?.close();
  await Promise.all([t?.close(), sshd?.stop()]);
  fs.rmSync(tempDir, { recursive: true, force: true });
});

describe('an archive pulled over SFTP from a local sshd', () => {
  it('ends with rows in every table, Opus objects at their keys, scratch gone, batch complete, remote file done', async () => {
    const remoteDir = fs.mkdtempSync(path.join(sshd.root, 'outgoing-'));
    const remoteFile = path.join(remoteDir, 'calls-0622.tar');
    const sample = await makeSampleArchive(remoteFile);
    const old = new Date(Date.now() - 3_600_000); // finished writing an hour ago
    fs.utimesSync(remoteFile, old, old);

    const config = readTransferConfig({ ...t.env, ...sshd.env(remoteDir), SFTP_MIN_AGE: '60s' }).sftp!;
    const source = new SftpSource(config, { ingester: apps.transfer.ingester, tempDir });
    const poll = await source.pollOnce();
    await source.close();
    expect(poll.ingested).toHaveLength(1);
    const { batchId } = poll.ingested[0]!;

    const batch = await waitForBatchDone(t.db, batchId);
    expect(batch).toMatchObject({ status: 'complete', succeededCount: 8, failedCount: 2 });
    expect(batch.source).toContain(`sftp://${sshd.user}@127.0.0.1:${sshd.port}`);
    expect(await batchRowCounts(t.db, batchId)).toEqual({
      audioFiles: 8,
      transcripts: 8,
      classifications: 8,
      failures: 2,
    });

    const files = await t.db.prisma.audioFile.findMany({ where: { batchId } });
    for (const file of files) {
      expect(file.s3OpusPath).toMatch(new RegExp(`^processed/\\d{4}-\\d{2}-\\d{2}/${file.id}\\.opus$`));
      expect(await t.store.exists(file.s3OpusPath!)).toBe(true);
    }
    const queue = await t.db.prisma.$queryRaw<
      { n: bigint }[]
    >`SELECT count(*) AS n FROM ra_queue WHERE sample <> 'control'`;
    expect(Number(queue[0]!.n)).toBe(2); // the two flagged files wait for review
    expect(await t.store.exists(batch.archiveKey)).toBe(true);

    expect(fs.existsSync(path.join(t.scratchRoot, batchId))).toBe(false);
    expect(fs.existsSync(remoteFile)).toBe(false);
    expect(fs.readdirSync(path.join(remoteDir, 'done'))).toEqual(['calls-0622.tar']);
    expect(fs.readdirSync(path.join(tempDir, 'sftp'))).toEqual([]);
    expect(Object.keys(sample.good)).toHaveLength(8);
  });
});
