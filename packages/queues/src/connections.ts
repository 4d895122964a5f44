import { once } from 'node:events';
import { Cluster, Redis } from 'ioredis';
import type { RedisConfig } from './redis-config.js';

/**
 * Workers block on Redis and must never give up on a command (`maxRetriesPerRequest: null`, as BullMQ
 * requires); producers (CLIs, the upload API) should fail fast when Redis is down instead of queueing
 * commands in memory (`enableOfflineQueue: false`).
 */
export type ConnectionRole = 'worker' | 'producer';

/** A single Redis or a Redis Cluster (REDIS_CLUSTER_NODES): BullMQ and every caller take either. */
export type RedisClient = Redis | Cluster;

// Reconnect with a capped backoff; BullMQ resumes once the connection is back.
const retryStrategy = (times: number) => Math.min(times * 200, 5000);

export function createRedisConnection(config: RedisConfig, role: ConnectionRole, name?: string): RedisClient {
  const commandOptions = {
    connectionName: name,
    maxRetriesPerRequest: role === 'worker' ? null : 1,
    enableOfflineQueue: role === 'worker',
  };
  if (config.clusterNodes) {
    return new Cluster(config.clusterNodes, {
      redisOptions: {
        ...commandOptions,
        ...(config.password ? { password: config.password } : {}),
      },
      enableOfflineQueue: commandOptions.enableOfflineQueue,
      clusterRetryStrategy: retryStrategy,
      // While a master fails over, commands wait and retry instead of failing: its replica takes the
      // slots within cluster-node-timeout, and the client learns the new map from any live node.
      retryDelayOnFailover: 300,
      retryDelayOnClusterDown: 300,
      retryDelayOnTryAgain: 300,
      maxRedirections: 64,
      slotsRefreshTimeout: 2000,
    });
  }
  return new Redis(config.url, { ...commandOptions, retryStrategy });
}

/** The nodes to SCAN: a Cluster's masters each hold part of the keyspace; a single Redis holds all. */
async function scanTargets(redis: RedisClient): Promise<Redis[]> {
  if (!(redis instanceof Cluster)) return [redis];
  // The client knows the masters only once it has read the slot map.
  if (redis.status !== 'ready') await once(redis, 'ready');
  return redis.nodes('master');
}

/**
 * Every key matching `pattern` (SCAN, never KEYS: a busy Redis must not block), on every master of a
 * Cluster. Calls `onKeys` per page so a caller can delete as it goes.
 */
export async function scanKeys(
  redis: RedisClient,
  pattern: string,
  onKeys?: (keys: string[]) => Promise<void>,
): Promise<string[]> {
  const found: string[] = [];
  for (const node of await scanTargets(redis)) {
    let cursor = '0';
    do {
      const [next, keys] = await node.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
      cursor = next;
      if (keys.length === 0) continue;
      if (onKeys) await onKeys(keys);
      else found.push(...keys);
    } while (cursor !== '0');
  }
  return found;
}
