import { once } from 'node:events';
import { Queue } from 'bullmq';
import type { RedisClient } from '@audio/queues';
import { BatchRepository, type Db } from '@audio/db';
import { redactUrl, type Logger } from '@audio/logger';
import { UNPACK_QUEUE } from '@audio/queues';
import { openConnections } from '@audio/runtime';
import type { ObjectStore } from '@audio/storage';
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
  redis: RedisClient;
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
  const config = readTransferConfig(options.env);
  const connections = openConnections({
    name: 'transfer',
    role: 'producer',
    ...(options.env ? { env: options.env } : {}),
    ...(options.logger ? { logger: options.logger } : {}),
  });
  const { redis, logger, store, db, prefix } = connections;
  try {
    await waitUntilReady(redis, options.redisTimeoutMs ?? 10_000, redactUrl(connections.redisConfig.url));
  } catch (error) {
    await connections.close();
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
  const batches = new BatchRepository(db);
  const unpackQueue = new Queue(UNPACK_QUEUE, { connection: redis, prefix });
  unpackQueue.on('error', (err) => logger.warn({ err }, 'unpack queue connection error'));
  const registrar = new BatchRegistrar(batches, unpackQueue, redis);
  const ingester = new ArchiveIngester({ store, registrar, stateDir: config.stateDir, logger });
  return {
    config,
    logger,
    store,
    db,
    batches,
    redis,
    redisPrefix: prefix,
    unpackQueue,
    registrar,
    ingester,
    async close() {
      await unpackQueue.close();
      await connections.close();
    },
  };
}

/** Producers do not queue commands offline, so the first command must wait for the connection. */
async function waitUntilReady(redis: RedisClient, timeoutMs: number, where: string): Promise<void> {
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
