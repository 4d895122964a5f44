import fsp from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import {
  CreateMultipartUploadCommand,
  ListMultipartUploadsCommand,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { InvalidKeyError, type ObjectStore } from '../src/index.js';
import {
  FaultProxy,
  makeTempDir,
  testS3Client,
  testStore,
  uniquePrefix,
  writeRandomFile,
} from './support/index.js';

describe('ObjectStore on Swift', () => {
  let store: ObjectStore;
  let raw: S3Client;
  let dir: string;
  const prefix = uniquePrefix('object-store');

  beforeAll(async () => {
    raw = testS3Client();
    store = testStore();
    dir = await makeTempDir();
  });

  afterAll(async () => {
    const keys: string[] = [];
    for await (const item of store.listAll(`${prefix}/`)) keys.push(item.key);
    await store.deleteMany(keys);
    store.destroy();
    raw.destroy();
    await fsp.rm(dir, { recursive: true, force: true });
  });

  it('puts a file with Content-MD5 and its sha256 as metadata; head and exists see it', async () => {
    const file = path.join(dir, 'small.bin');
    const sha256 = await writeRandomFile(file, 300_000);
    const put = await store.putFile(file, `${prefix}/small.bin`, { metadata: { source: 'test' } });
    expect(put).toEqual({ etag: expect.stringMatching(/^[0-9a-f]{32}$/), sha256, size: 300_000 });
    const head = await store.head(`${prefix}/small.bin`);
    expect(head).toMatchObject({ size: 300_000, etag: put.etag, metadata: { sha256, source: 'test' } });
    expect(await store.exists(`${prefix}/small.bin`)).toBe(true);
    expect(await store.exists(`${prefix}/missing.bin`)).toBe(false);
    expect(await store.head(`${prefix}/missing.bin`)).toBeUndefined();
  });

  it('streams a file too big to buffer, re-opening it when the PUT fails midway', async () => {
    const file = path.join(dir, 'large.bin');
    const sha256 = await writeRandomFile(file, 65 * 1024 * 1024);
    const proxy = await FaultProxy.start({ target: process.env.S3_ENDPOINT! });
    const viaProxy = testStore({ endpoint: proxy.url });
    try {
      const isPut = (r: { method: string; path: string }) =>
        r.method === 'PUT' && r.path.endsWith('/large.bin');
      proxy.setRules([{ match: isPut, times: 1, faults: [{ kind: 'reset' }] }]);
      const put = await viaProxy.putFile(file, `${prefix}/large.bin`);
      expect(put).toMatchObject({ sha256, size: 65 * 1024 * 1024 });
      expect(proxy.requests.filter(isPut).map((r) => r.fault ?? r.status)).toEqual(['reset', 200]);
      expect((await store.head(`${prefix}/large.bin`))?.metadata.sha256).toBe(sha256);
    } finally {
      viaProxy.destroy();
      await proxy.close();
      await fsp.rm(file);
    }
  });

  it('uploads opus files as audio/ogg and copies them with their metadata', async () => {
    const file = path.join(dir, 'a.opus');
    const sha256 = await writeRandomFile(file, 20_000);
    await store.uploadOpus(file, `${prefix}/a.opus`);
    await store.copy(`${prefix}/a.opus`, `${prefix}/copy/a b+c.opus`);
    const head = await store.head(`${prefix}/copy/a b+c.opus`);
    expect(head).toMatchObject({ size: 20_000, contentType: 'audio/ogg', metadata: { sha256 } });
  });

  it('lists page by page and deletes many at once (Swift wants Content-MD5 there)', async () => {
    const file = path.join(dir, 'tiny.bin');
    await writeRandomFile(file, 10);
    const keys = Array.from({ length: 5 }, (_, i) => `${prefix}/many/${i}.bin`);
    for (const key of keys) await store.putFile(file, key);

    const first = await store.list({ prefix: `${prefix}/many/`, limit: 2 });
    expect(first.keys.map((k) => k.key)).toEqual(keys.slice(0, 2));
    expect(first.nextToken).toBeDefined();
    const second = await store.list({
      prefix: `${prefix}/many/`,
      limit: 2,
      continuationToken: first.nextToken!,
    });
    expect(second.keys.map((k) => k.key)).toEqual(keys.slice(2, 4));
    const all: string[] = [];
    for await (const item of store.listAll(`${prefix}/many/`)) all.push(item.key);
    expect(all).toEqual(keys);

    expect(await store.deleteMany([...keys, `${prefix}/many/never-existed`])).toBe(6);
    expect((await store.list({ prefix: `${prefix}/many/` })).keys).toEqual([]);
    await store.delete(`${prefix}/many/never-existed`);
  });

  it('presigns GET and PUT URLs that work without credentials', async () => {
    const key = `${prefix}/presigned.txt`;
    const putUrl = await store.presignPut(key, 300, { contentType: 'text/plain' });
    const put = await fetch(putUrl, {
      method: 'PUT',
      body: 'hello',
      headers: { 'content-type': 'text/plain' },
    });
    expect(put.status).toBe(200);
    const wrongType = await fetch(putUrl, {
      method: 'PUT',
      body: 'x',
      headers: { 'content-type': 'image/png' },
    });
    expect(wrongType.status).toBe(403);
    const get = await fetch(await store.presignGet(key, 300));
    expect(await get.text()).toBe('hello');
    // Change the signature's first digit (to another one: a signature starting with 0 stayed valid).
    const tampered = (await store.presignGet(key, 300)).replace(
      /X-Amz-Signature=([0-9a-f])/,
      (_match, digit: string) => `X-Amz-Signature=${digit === '0' ? '1' : '0'}`,
    );
    expect((await fetch(tampered)).status).toBe(403);
    await expect(store.presignGet(key, 8 * 24 * 3600)).rejects.toThrow(/expires after 1 to 604800 seconds/);
  });

  it('aborts stale multipart uploads (Swift has no lifecycle rules)', async () => {
    const key = `${prefix}/abandoned.tar`;
    const created = await raw.send(new CreateMultipartUploadCommand({ Bucket: store.bucket, Key: key }));
    // Scoped to this file's prefix: other suites upload into the same bucket at the same time.
    expect(await store.abortStaleMultipartUploads(3600_000, { prefix })).not.toContainEqual(
      expect.objectContaining({ uploadId: created.UploadId }),
    );
    const aborted = await store.abortStaleMultipartUploads(0, { prefix });
    expect(aborted).toContainEqual(expect.objectContaining({ key, uploadId: created.UploadId }));
    const left = await raw.send(new ListMultipartUploadsCommand({ Bucket: store.bucket, Prefix: key }));
    expect(left.Uploads ?? []).toEqual([]);
  });

  it('refuses bad keys before any request leaves the process', async () => {
    const proxy = await FaultProxy.start({ target: process.env.S3_ENDPOINT! });
    const viaProxy = testStore({ endpoint: proxy.url });
    try {
      const file = path.join(dir, 'small.bin');
      await expect(viaProxy.putFile(file, '../etc/passwd')).rejects.toThrow(InvalidKeyError);
      await expect(viaProxy.head('/absolute')).rejects.toThrow('must not start with "/"');
      await expect(viaProxy.copy(`${prefix}/small.bin`, 'a//b')).rejects.toThrow(/empty segment/);
      await expect(viaProxy.deleteMany([`${prefix}/ok`, 'bad\u0000key'])).rejects.toThrow(
        /control characters/,
      );
      await expect(viaProxy.list({ prefix: '../' })).rejects.toThrow(InvalidKeyError);
      await expect(viaProxy.presignGet('a/../b', 60)).rejects.toThrow(InvalidKeyError);
      await expect(viaProxy.putFile(file, `${prefix}/x`, { metadata: { 'Bad Name': 'x' } })).rejects.toThrow(
        /metadata names/,
      );
      expect(proxy.requests).toEqual([]);
    } finally {
      viaProxy.destroy();
      await proxy.close();
    }
  });

  it('surfaces a refused PUT loudly (Swift checks Content-MD5)', async () => {
    const wrongMd5 = Buffer.alloc(16).toString('base64');
    await expect(
      raw.send(
        new PutObjectCommand({
          Bucket: store.bucket,
          Key: `${prefix}/bad-md5`,
          Body: 'data',
          ContentMD5: wrongMd5,
        }),
      ),
    ).rejects.toThrow(/BadDigest|Content-MD5/i);
  });
});
