// `transfer push` against the real upload API, Redis, PostgreSQL and Swift, with a fault-injecting
// proxy in front of Swift: a client killed halfway resumes without re-sending parts, 20 % of part PUTs
// failing still ends in a verified batch, refused tokens and a client over its rate.
import fs from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execa, type ResultPromise } from 'execa';
import { UploadClientRepository } from '@audio/db';
import { ObjectStore, readStorageConfig } from '@audio/storage';
import {
  ClientRateLimit,
  loadPushState,
  PendingUploads,
  PresignedUploads,
  pushArchive,
  PushError,
  startUploadApi,
  UploadClients,
  type RunningUploadApi,
  type UploadStatus,
} from '../src/index.js';
import { startFaultProxy, type FaultProxy } from './support/fault-proxy.js';
import {
  openTestTransfer,
  sha256File,
  silentLogger,
  writeTestArchive,
  type TestTransfer,
} from './support/test-context.js';

const MiB = 1024 * 1024;
const REPO = path.resolve(import.meta.dirname, '../../..');
/** Generous: only a hang should ever reach it. */
const HANG_MS = 300_000;

describe('transfer push (real API, Swift behind a fault-injecting proxy)', () => {
  let t: TestTransfer;
  let proxy: FaultProxy;
  let store: ObjectStore;
  let presigner: ObjectStore;
  let api: RunningUploadApi;
  let clients: UploadClients;
  let token: string;
  /** The limit of the client `slow`: one request per 5 s. */
  let strict: ClientRateLimit;

  const statusOf = async (batchId: string): Promise<UploadStatus> => {
    const response = await fetch(`${api.url}/uploads/${batchId}`, {
      headers: { authorization: `Bearer ${token}` },
    });
    return (await response.json()) as UploadStatus;
  };

  /** The CLI as a supplier runs it: no S3, database or Redis settings at all. */
  const pushCli = (file: string, statePath: string): ResultPromise => {
    const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: t.dir, UPLOAD_CLIENT_TOKEN: token };
    return execa(
      process.execPath,
      [
        '--import',
        'tsx',
        '--conditions=development',
        'apps/transfer/src/cli.ts',
        'push',
        file,
        '--api',
        api.url,
        '--state',
        statePath,
        '--concurrency',
        '2',
        '--json',
      ],
      { cwd: REPO, reject: false, env, extendEnv: false },
    );
  };

  beforeAll(async () => {
    t = await openTestTransfer();
    const config = readStorageConfig(t.env);
    proxy = await startFaultProxy(config.endpoint!);
    // The API talks to Swift directly and signs clients' URLs for the proxy's address, as it would for a
    // public name in front of an internal Swift (UPLOAD_S3_PUBLIC_ENDPOINT).
    store = ObjectStore.fromConfig({ ...config, partSize: 5 * MiB });
    presigner = ObjectStore.fromConfig({ ...config, endpoint: proxy.url });
    clients = new UploadClients(new UploadClientRepository(t.context.db));
    token = (await clients.add('supplier', 'upload')).token;
    const generous = new ClientRateLimit(t.context.redis, t.context.redisPrefix, {
      points: 10_000,
      windowSeconds: 60,
    });
    strict = new ClientRateLimit(t.context.redis, `${t.context.redisPrefix}:strict`, {
      points: 1,
      windowSeconds: 5,
    });
    api = await startUploadApi({
      uploads: new PresignedUploads({
        store,
        presigner,
        pending: new PendingUploads(t.context.redis, t.context.redisPrefix, 3600),
        batches: t.context.batches,
        registrar: t.context.registrar,
        urlExpirySeconds: 600,
        maxBytes: 256 * MiB,
        logger: silentLogger(),
      }),
      clients,
      rateLimit: { take: (name) => (name === 'slow' ? strict : generous).take(name) },
      host: '127.0.0.1',
      port: 0,
      logger: silentLogger(),
    });
  });
  afterAll(async () => {
    await api?.close(true);
    await proxy?.close();
    store?.destroy();
    presigner?.destroy();
    await t?.close();
  });

  it('killed at 50 %, resumes without re-sending the parts the server has; the batch starts', async () => {
    const file = path.join(t.dir, 'killed.tar');
    await writeTestArchive(file, 38 * MiB, 4); // 8 parts of 5 MiB
    const sha256 = await sha256File(file);
    const statePath = path.join(t.dir, 'killed.push.json');
    proxy.reset({ holdAfter: 4 });

    const first = pushCli(file, statePath);
    // The state file names the upload as soon as it is begun; then wait for half the parts at the server.
    const deadline = Date.now() + HANG_MS;
    let batchId: string | undefined;
    let status: UploadStatus | undefined;
    while (Date.now() < deadline) {
      batchId ??= (await loadPushState(statePath))?.batchId;
      if (batchId) status = await statusOf(batchId);
      if (status?.partsReceived === 4) break;
      if (first.exitCode !== undefined && first.exitCode !== null) break;
      await sleep(200);
    }
    expect(status).toMatchObject({
      state: 'pending',
      partCount: 8,
      partsReceived: 4,
      bytesReceived: 20 * MiB,
    });
    t.batchIds.add(batchId!);
    const atKill = status!.parts!.map((p) => p.partNumber);
    first.kill('SIGKILL');
    const killed = await first;
    expect(killed.signal).toBe('SIGKILL');
    expect(await t.context.batches.get(batchId!)).toBeNull();

    proxy.reset({});
    const second = await pushCli(file, statePath);

    expect(second.exitCode).toBe(0);
    const result = JSON.parse(String(second.stdout).trim().split('\n').at(-1)!) as Record<string, unknown>;
    expect(result).toMatchObject({
      batchId,
      sha256,
      resumed: true,
      partsSkipped: 4,
      partsSent: 4,
      created: true,
    });
    expect(proxy.stats.forwarded.sort((a, b) => a - b)).toHaveLength(4);
    expect(proxy.stats.forwarded.filter((n) => atKill.includes(n))).toEqual([]);
    expect(await store.head(`archives/${batchId}.tar`)).toMatchObject({ metadata: { sha256 } });
    expect(await t.context.batches.get(batchId!)).toMatchObject({
      sha256,
      source: 'upload-api:supplier/killed.tar',
    });
    expect((await t.context.unpackQueue.getJob(batchId!))?.data).toMatchObject({ sha256 });
    await expect(fs.stat(statePath)).rejects.toThrow(); // done: nothing left to resume
  });

  it('completes and verifies with 20 % of part PUTs failing (503s and dropped connections)', async () => {
    const file = path.join(t.dir, 'flaky.tar');
    await writeTestArchive(file, 48 * MiB, 4); // 10 parts
    const sha256 = await sha256File(file);
    proxy.reset({ failEvery: 5 });
    const progress: number[] = [];
    const hashed: number[] = [];

    const result = await pushArchive({
      api: api.url,
      token,
      file,
      statePath: path.join(t.dir, 'flaky.push.json'),
      concurrency: 4,
      retryBaseMs: 20,
      onProgress: (p) => progress.push(p.bytes),
      onHashProgress: (p) => hashed.push(p.bytes),
    });
    t.batchIds.add(result.batchId);

    expect(result).toMatchObject({ sha256, partsSent: 10, partsSkipped: 0, resumed: false, created: true });
    expect(proxy.stats.failed).toBeGreaterThanOrEqual(2);
    expect(proxy.stats.failed).toBe(Math.floor(proxy.stats.partPuts / 5));
    expect(proxy.stats.partPuts).toBe(10 + proxy.stats.failed);
    expect(progress.at(-1)).toBe((await fs.stat(file)).size);
    expect(hashed.at(-1)).toBe((await fs.stat(file)).size);
    expect(await t.context.batches.get(result.batchId)).toMatchObject({ sha256, status: 'transferred' });
  });

  it('stops with a clear error for a wrong token and for a revoked one, before sending anything', async () => {
    const file = path.join(t.dir, 'refused.tar');
    await writeTestArchive(file);
    proxy.reset({});
    const push = (bearer: string) =>
      pushArchive({ api: api.url, token: bearer, file, statePath: path.join(t.dir, 'refused.push.json') });

    await expect(push('atk_not-a-real-token')).rejects.toThrow(/401 unauthorized/);
    const { token: revoked } = await clients.add('former-supplier', 'upload');
    await clients.revoke('former-supplier');
    const error = await push(revoked).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PushError);
    expect(error).toMatchObject({ status: 401, code: 'token_revoked' });
    expect(proxy.stats.partPuts).toBe(0);
  });

  it('a client over its rate gets 429 with Retry-After, waits as told and finishes', async () => {
    const file = path.join(t.dir, 'slow.tar');
    await writeTestArchive(file);
    const { token: slow } = await clients.add('slow', 'upload');
    // Its one request of this window is spent: the push's first request meets a 429 for sure.
    expect(await strict.take('slow')).toEqual({ ok: true });
    const retries: unknown[] = [];
    const logger = silentLogger();
    logger.warn = ((obj: unknown) => retries.push(obj)) as typeof logger.warn;

    const result = await pushArchive({
      api: api.url,
      token: slow,
      file,
      statePath: path.join(t.dir, 'slow.push.json'),
      logger,
    });
    t.batchIds.add(result.batchId);

    expect(result.sha256).toBe(await sha256File(file));
    expect(retries).toContainEqual(
      expect.objectContaining({ problem: expect.stringContaining('429 rate_limited') }),
    );
  });
});
