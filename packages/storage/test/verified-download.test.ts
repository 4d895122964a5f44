import crypto from 'node:crypto';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import {
  ChecksumMismatchError,
  downloadVerified,
  MissingChecksumError,
  openVerifiedStream,
  type ObjectStore,
  type TransferProgress,
} from '../src/index.js';
import {
  FaultProxy,
  makeTempDir,
  sha256File,
  testS3Client,
  testStore,
  uniquePrefix,
  writeRandomFile,
} from './support/index.js';

const MiB = 1024 * 1024;

describe('verified downloads on Swift', () => {
  let dir: string;
  let store: ObjectStore;
  let raw: S3Client;
  const prefix = uniquePrefix('download');

  beforeAll(async () => {
    raw = testS3Client();
    dir = await makeTempDir();
    store = testStore();
  });

  afterAll(async () => {
    const keys: string[] = [];
    for await (const item of store.listAll(`${prefix}/`)) keys.push(item.key);
    await store.deleteMany(keys);
    store.destroy();
    raw.destroy();
    await fsp.rm(dir, { recursive: true, force: true });
  });

  const putRaw = (key: string, body: Buffer, metadata: Record<string, string>) =>
    raw.send(new PutObjectCommand({ Bucket: store.bucket, Key: key, Body: body, Metadata: metadata }));

  it('downloads to the destination when the sha256 matches, with progress', async () => {
    const file = path.join(dir, 'ok.bin');
    const sha256 = await writeRandomFile(file, 5_000_000);
    await store.putFile(file, `${prefix}/ok.bin`);
    const progress: TransferProgress[] = [];
    const dest = path.join(dir, 'out', 'ok.bin');
    const result = await downloadVerified(store, `${prefix}/ok.bin`, dest, {
      onProgress: (p) => progress.push(p),
    });
    expect(result).toEqual({ size: 5_000_000, sha256 });
    expect(progress.at(-1)).toMatchObject({ bytes: 5_000_000, total: 5_000_000 });
    expect(await fsp.readdir(path.dirname(dest))).toEqual(['ok.bin']);
  });

  it('fetches ranges in parallel when asked to, handing them on in order', async () => {
    const file = path.join(dir, 'ranges.bin');
    const sha256 = await writeRandomFile(file, 5_000_000);
    await store.putFile(file, `${prefix}/ranges.bin`);
    const proxy = await FaultProxy.start({ target: process.env.S3_ENDPOINT! });
    const viaProxy = testStore({ endpoint: proxy.url });
    try {
      const options = { chunkSize: 1024 * 1024, concurrency: 3 };
      const dest = path.join(dir, 'ranges.copy');
      expect(await downloadVerified(viaProxy, `${prefix}/ranges.bin`, dest, options)).toEqual({
        size: 5_000_000,
        sha256,
      });
      expect(await sha256File(dest)).toBe(sha256);
      const ranges = proxy.requests.filter((r) => r.method === 'GET').map((r) => r.headers.range);
      expect(ranges.sort()).toEqual(
        [0, 1, 2, 3, 4].map((i) => `bytes=${i * MiB}-${Math.min((i + 1) * MiB, 5_000_000) - 1}`).sort(),
      );

      const stream = openVerifiedStream(viaProxy, `${prefix}/ranges.bin`, options);
      const hash = crypto.createHash('sha256');
      for await (const chunk of stream) hash.update(chunk as Buffer);
      expect(hash.digest('hex')).toBe(sha256);
      expect(stream.result).toEqual({ size: 5_000_000, sha256 });
    } finally {
      viaProxy.destroy();
      await proxy.close();
    }
  });

  it('downloads an empty object', async () => {
    const file = path.join(dir, 'empty.bin');
    await fsp.writeFile(file, '');
    const put = await store.putFile(file, `${prefix}/empty.bin`);
    const dest = path.join(dir, 'empty.copy');
    expect(await downloadVerified(store, `${prefix}/empty.bin`, dest)).toEqual({
      size: 0,
      sha256: put.sha256,
    });
    expect(await fsp.readFile(dest)).toHaveLength(0);
  });

  it('fails on a sha256 mismatch, removing the partial file and leaving the destination alone', async () => {
    await putRaw(`${prefix}/corrupt.bin`, Buffer.from('the real bytes'), { sha256: '0'.repeat(64) });
    const outDir = path.join(dir, 'corrupt');
    await fsp.mkdir(outDir);
    const dest = path.join(outDir, 'corrupt.bin');
    await fsp.writeFile(dest, 'previous content');
    const attempt = downloadVerified(store, `${prefix}/corrupt.bin`, dest);
    await expect(attempt).rejects.toThrow(ChecksumMismatchError);
    await expect(attempt).rejects.toThrow(/checksum mismatch for .*corrupt\.bin: expected sha256 0{64}/);
    expect(await fsp.readdir(outDir)).toEqual(['corrupt.bin']);
    expect(await fsp.readFile(dest, 'utf8')).toBe('previous content');
  });

  it('makes the stream form fail at the end instead of ending', async () => {
    const stream = openVerifiedStream(store, `${prefix}/corrupt.bin`);
    const chunks: Buffer[] = [];
    await expect(
      (async () => {
        for await (const chunk of stream) chunks.push(chunk as Buffer);
      })(),
    ).rejects.toThrow(ChecksumMismatchError);
    expect(Buffer.concat(chunks).toString()).toBe('the real bytes');
    expect(stream.result).toBeUndefined();
  });

  it('refuses objects without sha256 metadata unless told what to expect', async () => {
    const body = Buffer.from('no metadata here');
    await putRaw(`${prefix}/plain.bin`, body, {});
    const dest = path.join(dir, 'plain.bin');
    await expect(downloadVerified(store, `${prefix}/plain.bin`, dest)).rejects.toThrow(MissingChecksumError);
    expect(fs.existsSync(dest)).toBe(false);
    const sha256 = crypto.createHash('sha256').update(body).digest('hex');
    expect(await downloadVerified(store, `${prefix}/plain.bin`, dest, { expectedSha256: sha256 })).toEqual({
      size: body.length,
      sha256,
    });
    await expect(
      downloadVerified(store, `${prefix}/missing.bin`, path.join(dir, 'missing')),
    ).rejects.toMatchObject({
      name: 'NoSuchKey',
    });
    expect((await fsp.readdir(dir)).filter((name) => name.includes('partial'))).toEqual([]);
  });
});
