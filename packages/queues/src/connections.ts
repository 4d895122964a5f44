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

/**
 * Waits until a replica of the master that holds `key`'s slot has every write this client sent it so
 * far (`WAIT 1`, at most `timeoutMs`), and returns how many replicas acknowledged; `undefined` on a
 * single Redis, which keeps its writes in its AOF instead. Replication is asynchronous: a master killed
 * right after acknowledging a write can lose it to the replica that takes its place. Job state is
 * safe without this (a lost completion makes the job run again, and every step is idempotent); a write
 * that nothing would redo (the unpack job of a newly transferred archive) waits for it.
 */
export async function waitForReplica(
  redis: RedisClient,
  key: string,
  timeoutMs = 1000,
): Promise<number | undefined> {
  if (!(redis instanceof Cluster)) return undefined;
  const slot = Number(await redis.call('CLUSTER', 'KEYSLOT', key));
  const owner = redis.slots[slot]?.[0];
  // The client's own connection to that master: WAIT counts the writes sent on the connection it runs on.
  const master = redis.nodes('master').find((n) => `${n.options.host}:${n.options.port}` === owner);
  if (!master) return 0;
  return Number(await master.call('WAIT', 1, timeoutMs));
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
