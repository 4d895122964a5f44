import { Redis } from 'ioredis';
import type { RedisConfig } from './redis-config.js';

/**
 * Workers block on Redis and must never give up on a command (`maxRetriesPerRequest: null`, as BullMQ
 * requires); producers (CLIs, the upload API) should fail fast when Redis is down instead of queueing
 * commands in memory (`enableOfflineQueue: false`).
 */
export type ConnectionRole = 'worker' | 'producer';

export function createRedisConnection(config: RedisConfig, role: ConnectionRole, name?: string): Redis {
  const redis = new Redis(config.url, {
    connectionName: name,
    maxRetriesPerRequest: role === 'worker' ? null : 1,
    enableOfflineQueue: role === 'worker',
    // Reconnect with a capped backoff; BullMQ resumes once the connection is back.
    retryStrategy: (times) => Math.min(times * 200, 5000),
  });
  return redis;
}
