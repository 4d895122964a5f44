import fs from 'node:fs/promises';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { ObjectStore, readStorageConfig } from '@audio/storage';
import {
  ArchiveIngester,
  batchIdForSourceFile,
  HostKeyMismatchError,
  readTransferConfig,
  SftpSource,
  type SftpConfig,
} from '../src/index.js';
import { startTestSshd, type TestSshd } from './support/index.js';
import {
  age,
  openTestTransfer,
  sha256File,
  silentLogger,
  writeTestArchive,
  type TestTransfer,
} from './support/test-context.js';

describe('SftpSource against a real sshd', () => {
  let sshd: TestSshd;
  let t: TestTransfer;
  let remoteDir: string;
  let config: SftpConfig;
  let tempDir: string;

  const source = (overrides: Partial<SftpConfig> = {}, ingester = t.context.ingester) =>
    new SftpSource({ ...config, ...overrides }, { ingester, tempDir, logger: silentLogger() });

  /** A complete remote archive: written, then aged past SFTP_MIN_AGE. */
  const remoteArchive = async (name: string) => {
    const file = path.join(remoteDir, name);
    await writeTestArchive(file);
    await age(file, 600);
    return file;
  };

  const derivedBatchId = async (file: string) => {
    const stat = await fs.stat(file);
    return batchIdForSourceFile({
      url: `sftp://${sshd.user}@127.0.0.1:${sshd.port}${file}`,
      size: stat.size,
      mtimeMs: Math.floor(stat.mtimeMs / 1000) * 1000,
    });
  };

  beforeAll(async () => {
    [sshd, t] = await Promise.all([startTestSshd(), openTestTransfer()]);
  });
  afterAll(async () => {
    await Promise.all([sshd?.stop(), t?.close()]);
  });
  beforeEach(async () => {
    remoteDir = await fs.mkdtemp(path.join(sshd.root, 'outgoing-'));
    tempDir = await fs.mkdtemp(path.join(t.dir, 'sftp-temp-'));
    config = readTransferConfig({ ...sshd.env(remoteDir), SFTP_MIN_AGE: '60s' }).sftp!;
  });
  afterEach(async () => {
    expect(await fs.readdir(path.join(tempDir, 'sftp')).catch(() => [])).toEqual([]);
  });

  it('ingests a complete file, then renames it into done/; still-growing and other files stay', async () => {
    const complete = await remoteArchive('calls-0622.tar');
    const sha256 = await sha256File(complete);
    const batchId = await derivedBatchId(complete);
    t.batchIds.add(batchId);
    const growing = path.join(remoteDir, 'calls-0623.tar');
    await writeTestArchive(growing); // mtime now: younger than SFTP_MIN_AGE
    await fs.writeFile(path.join(remoteDir, 'README.txt'), 'not matched by *.tar');
    await fs.mkdir(path.join(remoteDir, 'subdir.tar'));

    const result = await source().pollOnce();

    expect(result.failed).toEqual([]);
    expect(result.waiting).toEqual([growing]);
    expect(result.ingested).toHaveLength(1);
    expect(result.ingested[0]).toMatchObject({
      batchId,
      sha256,
      created: true,
      remotePath: complete,
      donePath: path.join(remoteDir, 'done', 'calls-0622.tar'),
    });
    expect((await fs.readdir(remoteDir)).sort()).toEqual([
      'README.txt',
      'calls-0623.tar',
      'done',
      'subdir.tar',
    ]);
    expect(await sha256File(path.join(remoteDir, 'done', 'calls-0622.tar'))).toBe(sha256);
    expect(await t.context.store.head(`archives/${batchId}.tar`)).toMatchObject({ metadata: { sha256 } });
    expect(await t.context.batches.get(batchId)).toMatchObject({
      sha256,
      source: `sftp://${sshd.user}@127.0.0.1:${sshd.port}${complete}`,
    });
    expect(await t.context.unpackQueue.getJob(batchId)).toBeDefined();
  });

  it('after a crash between upload and "done", the next poll lands in the same batch and job', async () => {
    const file = await remoteArchive('crashed.tar');
    const batchId = await derivedBatchId(file);
    t.batchIds.add(batchId);
    // The crashed run: it got as far as the batch row and the job, but the remote file was not moved.
    await t.context.ingester.ingest(file, {
      source: `sftp://${sshd.user}@127.0.0.1:${sshd.port}${file}`,
      batchId,
    });
    const jobsBefore = await t.context.unpackQueue.getJobCountByTypes('waiting', 'active', 'completed');

    const result = await source().pollOnce();

    expect(result.ingested).toEqual([
      expect.objectContaining({
        batchId,
        created: false,
        uploaded: false,
        donePath: path.join(remoteDir, 'done', 'crashed.tar'),
      }),
    ]);
    expect(await t.context.unpackQueue.getJobCountByTypes('waiting', 'active', 'completed')).toBe(jobsBefore);
    await expect(fs.stat(file)).rejects.toThrow('ENOENT');
  });

  it('leaves the remote file in place when the upload fails, and takes it on a later poll', async () => {
    const file = await remoteArchive('retry.tar');
    const batchId = await derivedBatchId(file);
    t.batchIds.add(batchId);
    const deadStore = ObjectStore.fromConfig({
      ...readStorageConfig(t.env),
      endpoint: 'http://127.0.0.1:9',
      maxAttempts: 1,
    });
    const failing = new ArchiveIngester({
      store: deadStore,
      registrar: t.context.registrar,
      stateDir: path.join(t.dir, 'state'),
    });

    const failed = await source({}, failing).pollOnce();
    deadStore.destroy();

    expect(failed.ingested).toEqual([]);
    expect(failed.failed).toEqual([{ remotePath: file, error: expect.any(String) }]);
    await expect(fs.stat(file)).resolves.toBeTruthy();
    await expect(fs.stat(path.join(remoteDir, 'done', 'retry.tar'))).rejects.toThrow('ENOENT');
    expect(await t.context.batches.get(batchId)).toBeNull();

    const retried = await source().pollOnce();
    expect(retried.ingested).toEqual([expect.objectContaining({ batchId, created: true })]);
  });

  it('never overwrites a done file: the second one gets its batch id in the name', async () => {
    await fs.mkdir(path.join(remoteDir, 'done'));
    await fs.writeFile(path.join(remoteDir, 'done', 'daily.tar'), 'yesterday');
    const file = await remoteArchive('daily.tar');
    const batchId = await derivedBatchId(file);
    t.batchIds.add(batchId);

    const result = await source().pollOnce();

    expect(result.ingested[0]?.donePath).toBe(path.join(remoteDir, 'done', `daily.${batchId}.tar`));
    expect(await fs.readFile(path.join(remoteDir, 'done', 'daily.tar'), 'utf8')).toBe('yesterday');
  });

  it('refuses a file that is not a tar archive and leaves it alone', async () => {
    const file = path.join(remoteDir, 'broken.tar');
    await fs.writeFile(file, 'this is no archive\n'.repeat(64));
    await age(file, 600);
    const sftp = source();

    const first = await sftp.pollOnce();
    const second = await sftp.pollOnce();

    expect(first.refused).toEqual([
      { remotePath: file, reason: expect.stringContaining('not a tar archive') },
    ]);
    expect(second.refused).toHaveLength(1);
    expect(first.ingested).toEqual([]);
    await expect(fs.stat(file)).resolves.toBeTruthy();
  });

  it('refuses a host whose key differs from SFTP_HOST_FINGERPRINT, touching nothing', async () => {
    const file = await remoteArchive('pinned.tar');

    const attempt = source({
      hostFingerprint: 'SHA256:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU',
    }).pollOnce();

    await expect(attempt).rejects.toThrow(HostKeyMismatchError);
    await expect(attempt).rejects.toThrow(sshd.hostFingerprint);
    await expect(fs.stat(file)).resolves.toBeTruthy();
  });
});
