import fs from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { ConfigError } from '@audio/config';
import { ObjectStore, readStorageConfig } from '@audio/storage';
import {
  createUploadApi,
  PendingUploads,
  PresignedUploads,
  readTransferConfig,
  requireUploadToken,
  startUploadApi,
  type BeginUploadResponse,
  type RunningUploadApi,
} from '../src/index.js';
import {
  openTestTransfer,
  sha256File,
  silentLogger,
  writeTestArchive,
  type TestTransfer,
} from './support/test-context.js';

const MiB = 1024 * 1024;
const TOKEN = 'test-token-0123456789abcdef';

describe('presigned upload API (real PUTs to Swift)', () => {
  let t: TestTransfer;
  let api: RunningUploadApi;
  let store: ObjectStore;

  const call = async (method: string, route: string, body?: unknown, token: string | null = TOKEN) => {
    const response = await fetch(`${api.url}${route}`, {
      method,
      headers: {
        ...(token ? { authorization: `Bearer ${token}` } : {}),
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
      },
      ...(body !== undefined ? { body: typeof body === 'string' ? body : JSON.stringify(body) } : {}),
    });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  };

  const begin = async (file: string, withSha = true) => {
    const data = await fs.readFile(file);
    const { status, body } = await call('POST', '/uploads', {
      filename: path.basename(file),
      sizeBytes: data.length,
      ...(withSha ? { sha256: await sha256File(file) } : {}),
    });
    expect(status).toBe(201);
    const plan = body as unknown as BeginUploadResponse;
    t.batchIds.add(plan.batchId);
    return { data, plan };
  };

  const putSingle = async (plan: BeginUploadResponse, data: Buffer) => {
    const response = await fetch(plan.single!.url, {
      method: 'PUT',
      headers: plan.single!.headers,
      body: data,
    });
    expect(response.status).toBe(200);
  };

  beforeAll(async () => {
    t = await openTestTransfer();
    // Small parts so that a multipart upload fits in a test: 5 MiB parts above 6 MiB.
    store = ObjectStore.fromConfig({ ...readStorageConfig(t.env), partSize: 5 * MiB });
    const uploads = new PresignedUploads({
      store,
      pending: new PendingUploads(t.context.redis, t.context.redisPrefix, 3600),
      batches: t.context.batches,
      registrar: t.context.registrar,
      urlExpirySeconds: 600,
      maxBytes: 64 * MiB,
      singlePutLimit: 6 * MiB,
      logger: silentLogger(),
    });
    api = await startUploadApi({ uploads, token: TOKEN, host: '127.0.0.1', port: 0, logger: silentLogger() });
  });
  afterAll(async () => {
    await api?.close(true);
    store?.destroy();
    await t?.close();
  });

  it('refuses to start without a token', () => {
    expect(() => requireUploadToken(readTransferConfig({}).uploadApi)).toThrow(ConfigError);
    expect(() => requireUploadToken(readTransferConfig({}).uploadApi)).toThrow(
      'UPLOAD_API_TOKEN is required',
    );
    expect(() => createUploadApi({ uploads: {} as PresignedUploads, token: '' })).toThrow('needs a token');
  });

  it('answers 401 without the bearer token and 400 naming the field for bad input', async () => {
    expect((await call('POST', '/uploads', { filename: 'a.tar', sizeBytes: 1 }, null)).status).toBe(401);
    expect(
      (await call('POST', '/uploads', { filename: 'a.tar', sizeBytes: 1 }, 'wrong-token-wrong-token')).status,
    ).toBe(401);
    expect(await call('POST', '/uploads', { filename: 'a.tar', sizeBytes: -5 })).toEqual({
      status: 400,
      body: { error: 'invalid_request', field: 'sizeBytes', message: 'sizeBytes: must be above 0' },
    });
    const badName = await call('POST', '/uploads', { filename: '../etc/passwd', sizeBytes: 10 });
    expect(badName).toMatchObject({ status: 400, body: { field: 'filename' } });
    expect(await call('POST', '/uploads', '{not json')).toMatchObject({
      status: 400,
      body: { error: 'invalid_json' },
    });
    const huge = await call('POST', '/uploads', {
      filename: 'a.tar',
      sizeBytes: 65 * MiB,
      sha256: 'a'.repeat(64),
    });
    expect(huge).toMatchObject({ status: 413, body: { error: 'too_large', field: 'sizeBytes' } });
    expect(await call('POST', '/uploads/20250622-143052-a1b2c3/complete', {})).toMatchObject({
      status: 404,
      body: { error: 'unknown_upload' },
    });
  });

  it('single PUT with a declared sha256: complete → verified object, batch row, unpack job; repeatable', async () => {
    const file = path.join(t.dir, 'single.tar');
    await writeTestArchive(file, 256 * 1024);
    const sha256 = await sha256File(file);
    const { data, plan } = await begin(file);
    expect(plan).toMatchObject({ mode: 'single', single: { headers: { 'x-amz-meta-sha256': sha256 } } });
    const unsigned = await fetch(plan.single!.url, { method: 'PUT', body: data });
    expect(unsigned.status).toBe(403); // the sha256 header is part of the signature

    await putSingle(plan, data);
    const done = await call('POST', plan.completePath, {});

    expect(done).toEqual({
      status: 200,
      body: {
        batchId: plan.batchId,
        archiveKey: plan.archiveKey,
        sha256,
        sizeBytes: data.length,
        jobId: plan.batchId,
        created: true,
      },
    });
    expect(await store.head(plan.archiveKey)).toMatchObject({ size: data.length, metadata: { sha256 } });
    expect(await t.context.batches.get(plan.batchId)).toMatchObject({
      sha256,
      source: 'upload-api:single.tar',
    });
    expect((await t.context.unpackQueue.getJob(plan.batchId))?.data).toMatchObject({
      sha256,
      sizeBytes: data.length,
    });
    expect((await call('POST', plan.completePath, {})).body).toMatchObject({
      batchId: plan.batchId,
      created: false,
    });
  });

  it('single PUT without a sha256: the server computes it and sets the object metadata', async () => {
    const file = path.join(t.dir, 'nosha.tar');
    await writeTestArchive(file);
    const { data, plan } = await begin(file, false);
    await putSingle(plan, data);

    const done = await call('POST', plan.completePath);

    expect(done).toMatchObject({ status: 200, body: { sha256: await sha256File(file) } });
    expect((await store.head(plan.archiveKey))?.metadata.sha256).toBe(await sha256File(file));
  });

  it('multipart: presigned part URLs, completed from the ETags the PUTs returned', async () => {
    const file = path.join(t.dir, 'multi.tar');
    await writeTestArchive(file, 11 * MiB, 3);
    const sha256 = await sha256File(file);
    const { data, plan } = await begin(file);
    expect(plan.mode).toBe('multipart');
    expect(plan.multipart).toMatchObject({ partSize: 5 * MiB, partCount: 3 });

    const parts = [];
    let offset = 0;
    for (const part of plan.multipart!.parts) {
      const response = await fetch(part.url, {
        method: 'PUT',
        body: data.subarray(offset, offset + part.size),
      });
      expect(response.status).toBe(200);
      parts.push({ partNumber: part.partNumber, etag: response.headers.get('etag')! });
      offset += part.size;
    }
    const done = await call('POST', plan.completePath, { uploadId: plan.multipart!.uploadId, parts });

    expect(done).toMatchObject({ status: 200, body: { sha256, sizeBytes: data.length, created: true } });
    expect(await store.head(plan.archiveKey)).toMatchObject({ size: data.length, metadata: { sha256 } });
  });

  it('refuses a multipart plan without sha256', async () => {
    const response = await call('POST', '/uploads', { filename: 'big.tar', sizeBytes: 20 * MiB });
    expect(response).toMatchObject({ status: 400, body: { error: 'sha256_required', field: 'sha256' } });
  });

  it('deletes what arrived and answers 422 when it is not the archive announced', async () => {
    const file = path.join(t.dir, 'announced.tar');
    await writeTestArchive(file);
    const { plan, data } = await begin(file, false);
    expect((await call('POST', plan.completePath)).body).toMatchObject({ error: 'not_uploaded' });

    // Wrong content (not a tar) of the announced size: the presigned PUT accepts it; /complete must not.
    await putSingle(plan, Buffer.alloc(data.length, 0x41));
    const refused = await call('POST', plan.completePath);

    expect(refused).toMatchObject({ status: 422, body: { error: 'not_a_tar', field: 'filename' } });
    expect(await store.head(plan.archiveKey)).toBeUndefined();
    expect(await t.context.batches.get(plan.batchId)).toBeNull();

    // The URL is still valid: the right file can be sent and completed.
    await putSingle(plan, data);
    expect((await call('POST', plan.completePath)).status).toBe(200);
  });

  it('answers 422 sha256_mismatch when the bytes differ from the declared sha256', async () => {
    const file = path.join(t.dir, 'declared.tar');
    await writeTestArchive(file);
    const other = path.join(t.dir, 'other.tar');
    await writeTestArchive(other);
    const { plan } = await begin(file);
    const wrong = await fs.readFile(other);
    // The signed sha256 header must be sent as given; the body is what differs.
    const response = await fetch(plan.single!.url, {
      method: 'PUT',
      headers: plan.single!.headers,
      body: wrong,
    });
    expect(response.status).toBe(200);

    const refused = await call('POST', plan.completePath);

    expect(refused).toMatchObject({ status: 422, body: { error: 'sha256_mismatch', field: 'sha256' } });
    expect(await store.head(plan.archiveKey)).toBeUndefined();
  });
});
