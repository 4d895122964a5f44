import fs from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { UploadClientRepository } from '@audio/db';
import { startTransferApp, UploadClients } from '../src/index.js';
import {
  age,
  openTestTransfer,
  silentLogger,
  writeTestArchive,
  type TestTransfer,
} from './support/test-context.js';

describe('startTransferApp', () => {
  let t: TestTransfer;

  beforeAll(async () => {
    t = await openTestTransfer();
  });
  afterAll(async () => {
    await t?.close();
  });

  it('runs the configured inbox and upload API until closed', async () => {
    const inbox = path.join(t.dir, 'app-inbox');
    await fs.mkdir(inbox);
    const file = path.join(inbox, 'app.tar');
    await writeTestArchive(file);
    await age(file, 60);
    const app = await startTransferApp({
      env: {
        ...t.env,
        INBOX_DIR: inbox,
        INBOX_POLL_INTERVAL: '100ms',
        INBOX_MIN_AGE: '0s',
        UPLOAD_API_ENABLED: 'true',
        UPLOAD_API_TOKEN: 'app-test-token-0123456789',
        UPLOAD_API_PORT: '0',
      },
      logger: silentLogger(),
    });
    try {
      expect(app.sftp).toBeUndefined();
      expect(await (await fetch(`${app.uploadApi!.url}/healthz`)).json()).toEqual({ ok: true });
      while (!(await fs.stat(path.join(inbox, 'done', 'app.tar')).catch(() => undefined))) await sleep(50);
      const [batch] = await app.context.batches.list({ limit: 10 });
      t.batchIds.add(batch!.batchId);
      expect(batch).toMatchObject({ source: `file://${file}`, status: 'transferred' });
    } finally {
      await app.close();
    }
    await expect(fetch(`${app.uploadApi!.url}/healthz`)).rejects.toThrow();
  });

  it("starts the upload API without a shared token: clients' own tokens are checked", async () => {
    const app = await startTransferApp({
      env: {
        ...t.env,
        UPLOAD_API_ENABLED: 'true',
        UPLOAD_API_PORT: '0',
        UPLOAD_S3_PUBLIC_ENDPOINT: 'http://s3.public.example:9000',
      },
      logger: silentLogger(),
    });
    try {
      const { token } = await new UploadClients(new UploadClientRepository(app.context.db)).add(
        'app-test',
        'upload',
      );
      const ask = (bearer: string) =>
        fetch(`${app.uploadApi!.url}/uploads/20250622-143052-a1b2c3`, {
          headers: { authorization: `Bearer ${bearer}` },
        });
      expect((await ask(token)).status).toBe(404);
      expect((await ask('app-test-token-0123456789')).status).toBe(401);
      // Clients get URLs for the public S3 name, not the one this process uses.
      const begun = await fetch(`${app.uploadApi!.url}/uploads`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ filename: 'a.tar', sizeBytes: 1024 }),
      });
      const plan = (await begun.json()) as { single: { url: string } };
      expect(plan.single.url).toMatch(/^http:\/\/s3\.public\.example:9000\//);
    } finally {
      await app.close();
    }
  });
});
