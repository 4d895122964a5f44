// A transfer context on the servers the jest global setup provides, isolated per test file: a fresh
// database, a Redis key prefix of its own, private state and temp directories.
import crypto from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createTestDatabase } from '@audio/db/testing';
import { createLogger, type Logger } from '@audio/logger';
import { writeTar } from '@audio/fixtures';
import { archiveKey } from '@audio/storage';
import { openTransferContext, type TransferContext } from '../../src/index.js';

export interface TestTransfer {
  context: TransferContext;
  env: NodeJS.ProcessEnv;
  /** A temp directory of this test file, removed by close(). */
  dir: string;
  /** Archives under these batch ids are deleted from S3 by close(). */
  batchIds: Set<string>;
  close(): Promise<void>;
}

export const silentLogger = (): Logger =>
  createLogger({ name: 'transfer-test', level: process.env.TEST_LOG_LEVEL ?? 'silent', pretty: false });

export async function openTestTransfer(extraEnv: Record<string, string> = {}): Promise<TestTransfer> {
  const database = await createTestDatabase();
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'transfer-test-'));
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    DATABASE_URL: database.databaseUrl,
    QUEUE_PREFIX: `{test-${crypto.randomBytes(4).toString('hex')}}`,
    TRANSFER_STATE_DIR: path.join(dir, 'state'),
    TRANSFER_TEMP_DIR: path.join(dir, 'tmp'),
    UPLOAD_API_ENABLED: 'false',
    ...extraEnv,
  };
  const context = await openTransferContext({ env, logger: silentLogger() });
  const batchIds = new Set<string>();
  return {
    context,
    env,
    dir,
    batchIds,
    async close() {
      await context.store.deleteMany([...batchIds].map((id) => archiveKey(id))).catch(() => undefined);
      await context.unpackQueue.obliterate({ force: true }).catch(() => undefined);
      // Whatever else this file left under its prefix (pending uploads, heartbeats).
      const leftovers = await context.redis.keys(`${context.redisPrefix}:*`);
      if (leftovers.length > 0) await context.redis.del(...leftovers);
      await context.close();
      await database.drop();
      await fs.rm(dir, { recursive: true, force: true });
    },
  };
}

/** A small tar archive of random "MP3s" (content is never decoded on the transfer side). */
export async function writeTestArchive(file: string, bytes = 64 * 1024, entries = 2): Promise<void> {
  await fs.mkdir(path.dirname(file), { recursive: true });
  await writeTar(
    file,
    Array.from({ length: entries }, (_, i) => ({
      name: `calls/${i}.mp3`,
      content: crypto.randomBytes(Math.ceil(bytes / entries)),
    })),
  );
}

export async function sha256File(file: string): Promise<string> {
  return crypto
    .createHash('sha256')
    .update(await fs.readFile(file))
    .digest('hex');
}

/** Sets a file's mtime `secondsAgo` in the past (a file whose writer finished long ago). */
export async function age(file: string, secondsAgo: number): Promise<void> {
  const when = new Date(Date.now() - secondsAgo * 1000);
  await fs.utimes(file, when, when);
}
