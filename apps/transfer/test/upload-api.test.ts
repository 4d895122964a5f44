import fs from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Writable } from 'node:stream';
import { UploadClientRepository } from '@audio/db';
import { createLogger } from '@audio/logger';
import { ObjectStore, readStorageConfig } from '@audio/storage';
import {
  ClientRateLimit,
  PendingUploads,
  PresignedUploads,
  SHARED_TOKEN_CLIENT,
  startUploadApi,
  UploadClients,
  type BeginUploadResponse,
  type RunningUploadApi,
  type UploadStatus,
} from '../src/index.js';
import {
  openTestTransfer,
  sha256File,
  silentLogger,
  writeTestArchive,
  type TestTransfer,
} from './support/test-context.js';

const MiB = 1024 * 1024;
const SHARED_TOKEN = 'shared-test-token-0123456789abcdef';
/** Requests per window for the client `greedy`; the others get plenty. */
const GREEDY_LIMIT = 3;

describe('presigned upload API (real PUTs to Swift)', () => {
  let t: TestTransfer;
  let api: RunningUploadApi;
  let store: ObjectStore;
  let clients: UploadClients;
  /** The client `acme`'s token (scope upload). */
  let TOKEN: string;
  /** The client `ops`'s token (scope download). */
  let OPS_TOKEN: string;
  /** Every JSON log line the API wrote. */
  const logLines: Record<string, unknown>[] = [];

  const call = async (method: string, route: string, body?: unknown, token: string | null = TOKEN) => {
    const response = await fetch(`${api.url}${route}`, {
      method,
      headers: {
        ...(token ? { authorization: `Bearer ${token}` } : {}),
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
      },
      ...(body !== undefined ? { body: typeof body === 'string' ? body : JSON.stringify(body) } : {}),
    });
    const retryAfter = response.headers.get('retry-after');
    return {
      status: response.status,
      body: (await response.json()) as Record<string, unknown>,
      ...(retryAfter ? { retryAfter } : {}),
    };
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
    clients = new UploadClients(new UploadClientRepository(t.context.db), SHARED_TOKEN);
    TOKEN = (await clients.add('acme', 'upload')).token;
    OPS_TOKEN = (await clients.add('ops', 'download')).token;
    const logger = createLogger({
      name: 'upload-api-test',
      level: 'info',
      pretty: false,
      destination: new Writable({
        write(chunk: Buffer, _encoding, done) {
          for (const line of chunk.toString().split('\n').filter(Boolean)) logLines.push(JSON.parse(line));
          done();
        },
      }),
    });
    // Only `greedy` is near its limit: one window per test run is long enough never to reset mid-test.
    const limiter = new ClientRateLimit(t.context.redis, t.context.redisPrefix, {
      points: GREEDY_LIMIT,
      windowSeconds: 3600,
    });
    const rateLimit = {
      take: (name: string) =>
        name === 'greedy' ? limiter.take(name) : Promise.resolve({ ok: true as const }),
    };
    api = await startUploadApi({ uploads, clients, rateLimit, host: '127.0.0.1', port: 0, logger });
  });
  afterAll(async () => {
    await api?.close(true);
    store?.destroy();
    await t?.close();
  });

  it('answers 401 without a token, with a wrong one and with a revoked one; 400 naming the field', async () => {
    expect((await call('POST', '/uploads', { filename: 'a.tar', sizeBytes: 1 }, null)).status).toBe(401);
    const wrong = await call(
      'POST',
      '/uploads',
      { filename: 'a.tar', sizeBytes: 1 },
      `${TOKEN.slice(0, -2)}xx`,
    );
    expect(wrong).toMatchObject({ status: 401, body: { error: 'unauthorized' } });

    const { token: leaving } = await clients.add('leaving', 'upload');
    expect((await call('GET', '/uploads/20250622-143052-a1b2c3', undefined, leaving)).status).toBe(404);
    await clients.revoke('leaving');
    const revoked = await call('GET', '/uploads/20250622-143052-a1b2c3', undefined, leaving);
    expect(revoked).toMatchObject({ status: 401, body: { error: 'token_revoked' } });
    expect(logLines).toContainEqual(
      expect.objectContaining({
        msg: 'upload API request refused: bad token',
        reason: 'revoked',
        client: 'leaving',
      }),
    );

    expect(await call('POST', '/uploads', { filename: 'a.tar', sizeBytes: -5 })).toMatchObject({
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
      source: 'upload-api:acme/single.tar',
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

  it('stores only the sha256 of a token; the client is named in every log line of its requests', async () => {
    const rows = await t.context.db.prisma.uploadClient.findMany();
    expect(rows.map((r) => r.tokenHash)).not.toContain(TOKEN);
    expect(JSON.stringify(rows)).not.toContain(TOKEN.slice(8));
    const before = logLines.length;
    await call('GET', '/uploads/20250622-143052-a1b2c3');
    const lines = logLines.slice(before);
    expect(lines).toContainEqual(
      expect.objectContaining({ client: 'acme', msg: 'upload API request', status: 404, method: 'GET' }),
    );
    expect(lines.every((line) => line.client === 'acme')).toBe(true);
    expect(JSON.stringify(lines)).not.toContain(TOKEN);
  });

  it('keeps the deprecated shared token working as client "shared-token", scope upload', async () => {
    const response = await call('POST', '/uploads', { filename: 'shared.tar', sizeBytes: 10 }, SHARED_TOKEN);
    expect(response.status).toBe(201);
    t.batchIds.add(String(response.body.batchId));
    const status = await call('GET', `/uploads/${String(response.body.batchId)}`, undefined, SHARED_TOKEN);
    expect(status.body).toMatchObject({ client: SHARED_TOKEN_CLIENT, state: 'pending' });
  });

  it('GET /uploads/:id: parts and bytes S3 has, for the owner and operators only; download for operators', async () => {
    const file = path.join(t.dir, 'status.tar');
    await writeTestArchive(file, 7 * MiB, 2);
    const sha256 = await sha256File(file);
    const data = await fs.readFile(file);
    const begun = await call('POST', '/uploads', {
      filename: 'status.tar',
      sizeBytes: data.length,
      sha256,
      multipart: true,
    });
    const plan = begun.body as unknown as BeginUploadResponse;
    t.batchIds.add(plan.batchId);
    expect(plan.multipart).toMatchObject({ partSize: 5 * MiB, partCount: 2 });
    const statusOf = async (token = TOKEN) =>
      (await call('GET', `/uploads/${plan.batchId}`, undefined, token)).body as unknown as UploadStatus;
    expect(await statusOf()).toMatchObject({
      state: 'pending',
      partsReceived: 0,
      bytesReceived: 0,
      client: 'acme',
    });

    // Part 2 only, with a fresh URL as a resumed client would ask for.
    const fresh = await call('POST', `/uploads/${plan.batchId}/parts`, { partNumbers: [2] });
    const part2 = (fresh.body.parts as { partNumber: number; url: string; size: number }[])[0]!;
    expect(part2).toMatchObject({ partNumber: 2, size: data.length - 5 * MiB });
    expect((await fetch(part2.url, { method: 'PUT', body: data.subarray(5 * MiB) })).status).toBe(200);

    const half = await statusOf();
    expect(half).toMatchObject({ partsReceived: 1, bytesReceived: data.length - 5 * MiB, partCount: 2 });
    expect(half.parts!.map((p) => p.partNumber)).toEqual([2]);

    // Another upload client sees nothing; an operator sees it; nobody may download an unfinished upload.
    const { token: other } = await clients.add('other-supplier', 'upload');
    expect((await call('GET', `/uploads/${plan.batchId}`, undefined, other)).status).toBe(404);
    expect((await statusOf(OPS_TOKEN)).partsReceived).toBe(1);
    expect((await call('GET', `/uploads/${plan.batchId}/download`, undefined, OPS_TOKEN)).status).toBe(404);
    // Scopes: an operator cannot begin, a supplier cannot download.
    expect(await call('POST', '/uploads', { filename: 'x.tar', sizeBytes: 1 }, OPS_TOKEN)).toMatchObject({
      status: 403,
      body: { error: 'wrong_scope' },
    });
    expect((await call('GET', `/uploads/${plan.batchId}/download`)).status).toBe(403);

    const part1 = plan.multipart!.parts[0]!;
    expect((await fetch(part1.url, { method: 'PUT', body: data.subarray(0, 5 * MiB) })).status).toBe(200);
    expect((await call('POST', plan.completePath, {})).status).toBe(200);
    expect(await statusOf()).toMatchObject({
      state: 'completed',
      bytesReceived: data.length,
      sha256,
      batchStatus: 'transferred',
      client: 'acme',
      filename: 'status.tar',
    });

    const download = await call('GET', `/uploads/${plan.batchId}/download`, undefined, OPS_TOKEN);
    expect(download.body).toMatchObject({ sha256, sizeBytes: data.length });
    const fetched = Buffer.from(await (await fetch(String(download.body.url))).arrayBuffer());
    expect(fetched.equals(data)).toBe(true);
  });

  it('answers 429 with Retry-After once a client is over its rate; others are not affected', async () => {
    const { token } = await clients.add('greedy', 'upload');
    const statuses = [];
    for (let i = 0; i < GREEDY_LIMIT; i += 1)
      statuses.push((await call('GET', '/uploads/20250622-143052-a1b2c3', undefined, token)).status);
    expect(statuses).toEqual(Array(GREEDY_LIMIT).fill(404));

    const over = await call('GET', '/uploads/20250622-143052-a1b2c3', undefined, token);

    expect(over).toMatchObject({ status: 429, body: { error: 'rate_limited' } });
    expect(Number(over.retryAfter)).toBeGreaterThan(0);
    expect(Number(over.retryAfter)).toBeLessThanOrEqual(3600);
    expect((await call('GET', '/uploads/20250622-143052-a1b2c3')).status).toBe(404);
    expect(logLines).toContainEqual(expect.objectContaining({ client: 'greedy', status: 429 }));
  });
});
