import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execa } from 'execa';
import { ArchiveUploader, downloadVerified, type ObjectStore, type TransferProgress } from '../src/index.js';
import {
  FaultProxy,
  isUploadPart,
  makeTempDir,
  sha256File,
  testStore,
  uniquePrefix,
  writeRandomFile,
} from './support/index.js';

const MiB = 1024 * 1024;
const CHILD = path.resolve(import.meta.dirname, 'support/upload-child.ts');

describe('ArchiveUploader on Swift', () => {
  let dir: string;
  let store: ObjectStore;
  let proxy: FaultProxy;
  let viaProxy: ObjectStore;
  const prefix = uniquePrefix('archive-upload');

  beforeAll(async () => {
    dir = await makeTempDir();
    store = testStore();
    proxy = await FaultProxy.start({ target: process.env.S3_ENDPOINT! });
    viaProxy = testStore({ endpoint: proxy.url, maxAttempts: 2 });
  });

  afterAll(async () => {
    const keys: string[] = [];
    for await (const item of store.listAll(`${prefix}/`)) keys.push(item.key);
    await store.deleteMany(keys);
    store.destroy();
    viaProxy.destroy();
    await proxy.close();
    await fsp.rm(dir, { recursive: true, force: true });
  });

  it('sends a file under the threshold in one PUT, with its sha256 as metadata', async () => {
    const file = path.join(dir, 'small.tar');
    const sha256 = await writeRandomFile(file, 3 * MiB);
    const uploader = new ArchiveUploader(store, { threshold: 8 * MiB });
    const progress: TransferProgress[] = [];
    uploader.on('progress', (p) => progress.push(p));
    const result = await uploader.upload(file, `${prefix}/small.tar`);
    expect(result).toMatchObject({ size: 3 * MiB, sha256, parts: 1, resumedParts: 0 });
    expect(progress.at(-1)).toMatchObject({ bytes: 3 * MiB, total: 3 * MiB, etaSeconds: 0 });
    expect((await store.head(`${prefix}/small.tar`))?.metadata.sha256).toBe(sha256);
  });

  it('sends a larger file in parts, reporting progress, and leaves no state behind', async () => {
    const file = path.join(dir, 'multi.tar');
    const sha256 = await writeRandomFile(file, 21 * MiB);
    const uploader = new ArchiveUploader(store, { threshold: 5 * MiB, partSize: 5 * MiB, concurrency: 3 });
    const progress: TransferProgress[] = [];
    uploader.on('progress', (p) => progress.push(p));
    const result = await uploader.upload(file, `${prefix}/multi.tar`, { metadata: { batch: 'test' } });
    expect(result).toMatchObject({ size: 21 * MiB, sha256, parts: 5, resumedParts: 0 });
    expect(result.etag).toMatch(/-5$/);
    const head = await store.head(`${prefix}/multi.tar`);
    expect(head).toMatchObject({ size: 21 * MiB, metadata: { sha256, batch: 'test' } });
    expect(progress.at(-1)).toMatchObject({ bytes: 21 * MiB, total: 21 * MiB });
    expect(progress.at(-1)!.mbPerSecond).toBeGreaterThan(0);
    expect(fs.existsSync(`${file}.upload.json`)).toBe(false);
  });

  it('keeps the upload after transient failures and resumes it, sending only the missing parts', async () => {
    const file = path.join(dir, 'flaky.tar');
    const sha256 = await writeRandomFile(file, 30 * MiB);
    const stateDir = path.join(dir, 'state-flaky');
    const key = `${prefix}/flaky.tar`;
    // Part 4 meets 503 SlowDown on every attempt: the SDK's and our own retries run out.
    proxy.setRules([
      {
        match: (r) => isUploadPart(r) && r.partNumber === 4,
        faults: [{ kind: 'status', status: 503, code: 'SlowDown' }],
      },
    ]);
    proxy.clearLog();
    const options = { threshold: 5 * MiB, partSize: 5 * MiB, concurrency: 1, stateDir, partAttempts: 2 };
    await expect(new ArchiveUploader(viaProxy, options).upload(file, key)).rejects.toMatchObject({
      name: 'SlowDown',
    });
    const stateFiles = await fsp.readdir(stateDir);
    expect(stateFiles).toHaveLength(1);
    expect(proxy.requests.some((r) => r.method === 'DELETE')).toBe(false); // not aborted
    const sentBefore = new Set(
      proxy.requests.filter((r) => isUploadPart(r) && r.status === 200).map((r) => r.partNumber),
    );
    expect([...sentBefore].sort()).toEqual([1, 2, 3]);

    // This time the server lacks ListParts (like s3rver): the state file is trusted.
    const isListParts = (r: { method: string; query: URLSearchParams }) =>
      r.method === 'GET' && r.query.has('uploadId');
    proxy.setRules([
      { match: isListParts, faults: [{ kind: 'status', status: 501, code: 'NotImplemented' }] },
    ]);
    proxy.clearLog();
    const result = await new ArchiveUploader(viaProxy, options).upload(file, key);
    expect(proxy.requests.filter(isListParts).map((r) => r.status)).toEqual([501]);
    proxy.setRules([]);
    expect(result).toMatchObject({ sha256, parts: 6, resumedParts: 3 });
    const sentAfter = proxy.requests.filter(isUploadPart).map((r) => r.partNumber);
    expect(sentAfter.sort()).toEqual([4, 5, 6]);
    expect(await fsp.readdir(stateDir)).toEqual([]);
    expect((await store.head(key))?.metadata.sha256).toBe(sha256);
  });

  it('aborts the multipart upload on an unrecoverable error and removes the state', async () => {
    const file = path.join(dir, 'refused.tar');
    await writeRandomFile(file, 12 * MiB);
    const stateDir = path.join(dir, 'state-refused');
    proxy.setRules([
      {
        match: (r) => isUploadPart(r) && r.partNumber === 2,
        faults: [{ kind: 'status', status: 400, code: 'BadDigest' }],
      },
    ]);
    proxy.clearLog();
    const uploader = new ArchiveUploader(viaProxy, {
      threshold: 5 * MiB,
      partSize: 5 * MiB,
      concurrency: 1,
      stateDir,
    });
    await expect(uploader.upload(file, `${prefix}/refused.tar`)).rejects.toMatchObject({ name: 'BadDigest' });
    proxy.setRules([]);
    const abort = proxy.requests.find((r) => r.method === 'DELETE' && r.query.has('uploadId'));
    expect(abort?.status).toBe(204);
    expect(await fsp.readdir(stateDir)).toEqual([]);
    expect(await store.exists(`${prefix}/refused.tar`)).toBe(false);
  });

  it('resumes a 200 MiB upload whose process was SIGKILLed midway without re-sending finished parts', async () => {
    const file = path.join(dir, 'killed.tar');
    const sha256 = await writeRandomFile(file, 200 * MiB);
    const stateDir = path.join(dir, 'state-killed');
    const key = `${prefix}/killed.tar`;
    const partSize = 8 * MiB; // 25 parts
    proxy.setRules([]);
    proxy.clearLog();

    // node itself runs the uploader (tsx as a loader, not tsx's CLI, which would put a process between).
    const args = [file, key, stateDir, proxy.url, String(partSize), '2'];
    const child = execa(process.execPath, ['--import', 'tsx', '--conditions=development', CHILD, ...args], {
      reject: false,
    });
    let finishedParts = 0;
    const onResponse = (r: { status?: number; method: string; partNumber?: number; uploadId?: string }) => {
      if (r.method === 'PUT' && r.partNumber !== undefined && r.status === 200 && ++finishedParts === 10)
        child.kill('SIGKILL');
    };
    proxy.on('response', onResponse);
    const outcome = await child;
    proxy.off('response', onResponse);
    expect(outcome.signal).toBe('SIGKILL');
    await proxy.idle();

    // Parts the server acknowledged before the kill (some may have landed after the state file was saved).
    const firstRun = proxy.requests
      .filter((r) => isUploadPart(r) && r.status === 200)
      .map((r) => r.partNumber!);
    expect(firstRun.length).toBeGreaterThanOrEqual(10);
    expect(firstRun.length).toBeLessThan(25);
    // One state file; a SIGKILL during its atomic save may also leave that save's temp file beside it.
    expect((await fsp.readdir(stateDir)).filter((name) => !name.endsWith('.tmp'))).toHaveLength(1);

    proxy.clearLog();
    const result = await new ArchiveUploader(viaProxy, {
      threshold: 1,
      partSize,
      concurrency: 2,
      stateDir,
    }).upload(file, key);
    const secondRun = proxy.requests.filter(isUploadPart).map((r) => r.partNumber!);
    expect(secondRun.filter((n) => firstRun.includes(n))).toEqual([]);
    expect(new Set([...firstRun, ...secondRun]).size).toBe(25);
    expect(result).toMatchObject({
      size: 200 * MiB,
      sha256,
      parts: 25,
      resumedParts: new Set(firstRun).size,
    });
    expect(proxy.requests.some((r) => r.method === 'GET' && r.query.has('uploadId'))).toBe(true); // ListParts

    const copy = path.join(dir, 'killed.copy');
    expect(await downloadVerified(store, key, copy)).toEqual({ size: 200 * MiB, sha256 });
    expect(await sha256File(copy)).toBe(sha256);
    expect(await fsp.readdir(stateDir)).toEqual([]);
  }, 180_000);
});
