import fsp from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { ArchiveUploader, downloadVerified, openVerifiedStream, type ObjectStore } from '../src/index.js';
import {
  FaultProxy,
  makeTempDir,
  sha256File,
  standardFaults,
  testStore,
  uniquePrefix,
  writeRandomFile,
} from './support/index.js';

const MiB = 1024 * 1024;

describe('transfers through a faulty network (fault proxy in front of Swift)', () => {
  let dir: string;
  let store: ObjectStore;
  let proxy: FaultProxy;
  let viaProxy: ObjectStore;
  const prefix = uniquePrefix('faults');

  beforeAll(async () => {
    dir = await makeTempDir();
    store = testStore();
    proxy = await FaultProxy.start({ target: process.env.S3_ENDPOINT! });
    // Patient: on a loaded machine Swift's healthy answers can take seconds. Only the stall test below
    // wants a short idle timeout, with a response that never comes.
    viaProxy = testStore({ endpoint: proxy.url, requestTimeoutMs: 60_000 });
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

  it('uploads and downloads with equal sha256 while 20% of requests fail', async () => {
    const big = path.join(dir, 'big.tar');
    const bigSha = await writeRandomFile(big, 64 * MiB);
    const smallShas: string[] = [];
    for (let i = 0; i < 8; i += 1)
      smallShas.push(await writeRandomFile(path.join(dir, `${i}.opus`), 300_000));
    // Every 5th request meets, in turn: 503 SlowDown, 500, reset, response cut after 64 KiB, slow answer.
    proxy.setRules([{ every: 5, faults: standardFaults() }], 20250622);
    proxy.clearLog();

    const uploader = new ArchiveUploader(viaProxy, {
      threshold: 8 * MiB,
      partSize: 5 * MiB,
      concurrency: 3,
      stateDir: path.join(dir, 'state'),
    });
    expect(await uploader.upload(big, `${prefix}/big.tar`)).toMatchObject({ sha256: bigSha, parts: 13 });
    for (let i = 0; i < smallShas.length; i += 1) {
      const put = await viaProxy.uploadOpus(path.join(dir, `${i}.opus`), `${prefix}/small/${i}.opus`);
      expect(put.sha256).toBe(smallShas[i]);
    }

    const copy = path.join(dir, 'big.copy');
    const parallel = { concurrency: 3, chunkSize: 8 * MiB }; // the small files below stream one GET each
    expect(await downloadVerified(viaProxy, `${prefix}/big.tar`, copy, parallel)).toEqual({
      size: 64 * MiB,
      sha256: bigSha,
    });
    expect(await sha256File(copy)).toBe(bigSha);
    for (let i = 0; i < smallShas.length; i += 1) {
      const stream = openVerifiedStream(viaProxy, `${prefix}/small/${i}.opus`);
      let size = 0;
      for await (const chunk of stream) size += (chunk as Buffer).length;
      expect(size).toBe(300_000);
      expect(stream.result).toEqual({ size: 300_000, sha256: smallShas[i] });
    }

    // The faults really happened, of several kinds, and the server holds exactly what was sent.
    const faulted = proxy.faulted();
    expect(faulted.length).toBe(Math.floor(proxy.requests.length / 5));
    expect(faulted.length).toBeGreaterThanOrEqual(6);
    expect(new Set(faulted.map((r) => r.fault))).toEqual(new Set(standardFaults().map((f) => f.kind)));
    expect((await store.head(`${prefix}/big.tar`))?.metadata.sha256).toBe(bigSha);
  }, 120_000);

  it('resumes a download cut midway with a Range request', async () => {
    const file = path.join(dir, 'cut.tar');
    const sha256 = await writeRandomFile(file, 16 * MiB);
    await store.putFile(file, `${prefix}/cut.tar`);
    const isGet = (r: { method: string; path: string }) => r.method === 'GET' && r.path.endsWith('/cut.tar');
    proxy.setRules([{ match: isGet, times: 1, faults: [{ kind: 'cut-response', afterBytes: 8 * MiB }] }]);
    proxy.clearLog();

    const copy = path.join(dir, 'cut.copy');
    expect(await downloadVerified(viaProxy, `${prefix}/cut.tar`, copy)).toEqual({ size: 16 * MiB, sha256 });
    const gets = proxy.requests.filter(isGet);
    expect(gets).toHaveLength(2);
    expect(gets[0]!.fault).toBe('cut-response');
    expect(gets[0]!.headers.range).toBe('bytes=0-');
    expect(gets[1]!.headers.range).toBe(`bytes=${8 * MiB}-`);
    expect(gets[1]!.status).toBe(206);
    expect(await sha256File(copy)).toBe(sha256);
  });

  it('gives up on a stalled response after the idle timeout and tries again', async () => {
    const file = path.join(dir, 'stall.bin');
    const sha256 = await writeRandomFile(file, 100_000);
    await store.putFile(file, `${prefix}/stall.bin`);
    const isGet = (r: { method: string; path: string }) =>
      r.method === 'GET' && r.path.endsWith('/stall.bin');
    // The first answer never comes (held for an hour); this store's idle timeout is 5 s.
    proxy.setRules([{ match: isGet, times: 1, faults: [{ kind: 'slow-response', delayMs: 3_600_000 }] }]);
    proxy.clearLog();
    const impatient = testStore({ endpoint: proxy.url, requestTimeoutMs: 5_000 });
    try {
      expect(await downloadVerified(impatient, `${prefix}/stall.bin`, path.join(dir, 'stall.copy'))).toEqual({
        size: 100_000,
        sha256,
      });
    } finally {
      impatient.destroy();
    }
    const gets = proxy.requests.filter(isGet);
    expect(gets[0]!.fault).toBe('slow-response');
    // At least one more GET got the file (more, if a healthy answer on a loaded machine also took 5 s).
    expect(gets.length).toBeGreaterThanOrEqual(2);
    expect([200, 206]).toContain(gets.at(-1)!.status); // a retry asks with a Range header
  });
});
