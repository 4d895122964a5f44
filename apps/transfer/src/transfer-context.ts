import { once } from 'node:events';
import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { BatchRepository, createDb, readDbConfig, type Db } from '@audio/db';
import { createLogger, redactUrl, type Logger } from '@audio/logger';
import { createRedisConnection, readRedisConfig, UNPACK_QUEUE } from '@audio/queues';
import { ObjectStore, readStorageConfig } from '@audio/storage';
import { ArchiveIngester } from './archive-ingester.js';
import { BatchRegistrar } from './batch-registrar.js';
import { readTransferConfig, type TransferConfig } from './config.js';

/** Everything a transfer source, the upload API or a CLI command needs, opened once per process. */
export interface TransferContext {
  config: TransferConfig;
  logger: Logger;
  store: ObjectStore;
  db: Db;
  batches: BatchRepository;
  /** A producer connection: commands fail at once while Redis is down instead of piling up. */
  redis: Redis;
  /** BullMQ key prefix; also the prefix of this app's own Redis keys. */
  redisPrefix: string;
  unpackQueue: Queue;
  registrar: BatchRegistrar;
  ingester: ArchiveIngester;
  close(): Promise<void>;
}

export interface TransferContextOptions {
  env?: NodeJS.ProcessEnv;
  logger?: Logger;
  /** How long to wait for the first Redis connection before failing (default 10 s). */
  redisTimeoutMs?: number;
}

export async function openTransferContext(options: TransferContextOptions = {}): Promise<TransferContext> {
  const env = options.env ?? process.env;
  const logger = options.logger ?? createLogger({ name: 'transfer' });
  const config = readTransferConfig(env);
  const redisConfig = readRedisConfig(env);
  const storageConfig = readStorageConfig(env);
  const dbConfig = readDbConfig(env);

  const redis = createRedisConnection(redisConfig, 'producer', 'transfer');
  try {
    await waitUntilReady(redis, options.redisTimeoutMs ?? 10_000, redactUrl(redisConfig.url));
  } catch (error) {
    redis.disconnect();
    throw error;
  }
  // One line when the connection drops and one when it is back, not one per reconnect attempt.
  let redisDown = false;
  redis.on('error', (error: Error) => {
    if (redisDown) return;
    redisDown = true;
    logger.warn(
      { err: error.message },
      'Redis connection lost; reconnecting (ingests fail until it is back)',
    );
  });
  redis.on('ready', () => {
    if (!redisDown) return;
    redisDown = false;
    logger.info('Redis connection back');
  });
  const store = ObjectStore.fromConfig(storageConfig, { logger });
  const db = createDb(dbConfig);
  const batches = new BatchRepository(db);
  const unpackQueue = new Queue(UNPACK_QUEUE, { connection: redis, prefix: redisConfig.prefix });
  unpackQueue.on('error', (err) => logger.warn({ err }, 'unpack queue connection error'));
  const registrar = new BatchRegistrar(batches, unpackQueue);
  const ingester = new ArchiveIngester({ store, registrar, stateDir: config.stateDir, logger });
  return {
    config,
    logger,
    store,
    db,
    batches,
    redis,
    redisPrefix: redisConfig.prefix,
    unpackQueue,
    registrar,
    ingester,
    async close() {
      await unpackQueue.close();
      redis.disconnect();
      store.destroy();
      await db.close();
    },
  };
}

/** Producers do not queue commands offline, so the first command must wait for the connection. */
async function waitUntilReady(redis: Redis, timeoutMs: number, where: string): Promise<void> {
  if (redis.status === 'ready') return;
  const signal = AbortSignal.timeout(timeoutMs);
  let lastError: unknown;
  const onError = (error: unknown) => (lastError = error);
  redis.on('error', onError);
  try {
    await once(redis, 'ready', { signal });
  } catch {
    const reason = lastError instanceof Error ? `: ${lastError.message}` : '';
    throw new Error(`Redis at ${where} is not reachable after ${timeoutMs} ms${reason}`);
  } finally {
    redis.off('error', onError);
  }
}
