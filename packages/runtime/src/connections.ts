import type { RedisClient } from '@audio/queues';
import { createDb, readDbConfig, type Db, type DbConfig } from '@audio/db';
import { createLogger, type Logger } from '@audio/logger';
import { createRedisConnection, readRedisConfig, type ConnectionRole, type RedisConfig } from '@audio/queues';
import { ObjectStore, readStorageConfig, type StorageConfig, type StorageMetrics } from '@audio/storage';

export interface ConnectionsOptions {
  /** The process's name: its logger's, and the Redis connection's (`CLIENT LIST`). */
  name: string;
  /** `worker`: Redis commands wait for a reconnect; `producer`: they fail at once while Redis is down. */
  role: ConnectionRole;
  env?: NodeJS.ProcessEnv;
  logger?: Logger;
  storageMetrics?: StorageMetrics;
  /** Settings that differ from the environment's (a short-lived check: a small pool, no retries). */
  tune?: { db?: Partial<DbConfig>; storage?: Partial<StorageConfig> };
}

/** Redis, PostgreSQL and S3 as one process uses them, configured from its environment. */
export interface Connections {
  env: NodeJS.ProcessEnv;
  logger: Logger;
  redisConfig: RedisConfig;
  redis: RedisClient;
  /** BullMQ key prefix (QUEUE_PREFIX); also the prefix of the apps' own Redis keys. */
  prefix: string;
  db: Db;
  store: ObjectStore;
  /** Closes what it opened: Redis, the S3 client's sockets, the database pool. */
  close(): Promise<void>;
}

/**
 * Reads REDIS_*, QUEUE_PREFIX, S3_*, DATABASE_URL/POSTGRES_* (each package validates its own variables
 * and stops with one line naming a bad one) and opens the three connections, in that order, so a
 * configuration error leaves nothing open.
 */
export function openConnections(options: ConnectionsOptions): Connections {
  const env = options.env ?? process.env;
  const logger = options.logger ?? createLogger({ name: options.name });
  const redisConfig = readRedisConfig(env);
  const storageConfig = { ...readStorageConfig(env), ...options.tune?.storage };
  const dbConfig = { ...readDbConfig(env), ...options.tune?.db };
  const redis = createRedisConnection(redisConfig, options.role, options.name);
  const db = createDb(dbConfig);
  const store = ObjectStore.fromConfig(storageConfig, {
    logger,
    ...(options.storageMetrics ? { metrics: options.storageMetrics } : {}),
  });
  return {
    env,
    logger,
    redisConfig,
    redis,
    prefix: redisConfig.prefix,
    db,
    store,
    async close() {
      redis.disconnect();
      store.destroy();
      await db.close();
    },
  };
}
