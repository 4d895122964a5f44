import { z } from 'zod';
import { envVar, integerFromEnv, readEnv } from '@audio/config';

/** `host:port` — a seed node of a Redis Cluster; the client discovers the rest from it. */
const clusterNode = z
  .string()
  .trim()
  .regex(/^[^\s:,]+:\d{1,5}$/, 'each node must be host:port (e.g. 10.0.0.5:7000)')
  .transform((node) => {
    const at = node.lastIndexOf(':');
    return { host: node.slice(0, at), port: Number(node.slice(at + 1)) };
  })
  .refine((n) => n.port >= 1 && n.port <= 65535, 'each node port must be 1-65535');

const redisEnv = z
  .object({
    REDIS_URL: envVar(
      z
        .string()
        .regex(/^rediss?:\/\//, 'must start with redis:// or rediss://')
        .optional(),
      'redis://127.0.0.1:6379',
    ),
    REDIS_HOST: envVar(z.string().optional(), '127.0.0.1'),
    REDIS_PORT: envVar(integerFromEnv(1, 65535).default(6379), '6379'),
    REDIS_PASSWORD: envVar(z.string().optional(), 'change-me'),
    REDIS_DB: envVar(integerFromEnv(0, 15).default(0), '0'),
    /** Set: every process uses a Redis Cluster client seeded with these nodes; REDIS_URL/HOST are ignored. */
    REDIS_CLUSTER_NODES: envVar(
      z
        .string()
        .transform((list) => list.split(',').filter((n) => n.trim() !== ''))
        .pipe(z.array(clusterNode).min(1, 'must name at least one host:port'))
        .optional(),
      '10.0.0.5:7000,10.0.0.6:7000,10.0.0.7:7000',
    ),
    QUEUE_PREFIX: envVar(
      z
        .string()
        .regex(/^[^:\s]+$/, 'must not contain ":" or spaces')
        .default('{audio}'),
      '{audio}',
    ),
  })
  .refine((e) => !e.REDIS_CLUSTER_NODES || /^\{[^{}]+\}/.test(e.QUEUE_PREFIX), {
    path: ['QUEUE_PREFIX'],
    message:
      'must start with a {hash tag} when REDIS_CLUSTER_NODES is set (a flow touches several queues in one script, which Cluster allows only within one slot)',
  })
  .transform((e) => ({
    url:
      e.REDIS_URL ??
      `redis://${e.REDIS_PASSWORD ? `:${encodeURIComponent(e.REDIS_PASSWORD)}@` : ''}${e.REDIS_HOST ?? '127.0.0.1'}:${e.REDIS_PORT}/${e.REDIS_DB}`,
    /** Redis Cluster seed nodes (REDIS_CLUSTER_NODES); unset for a single Redis at `url`. */
    ...(e.REDIS_CLUSTER_NODES ? { clusterNodes: e.REDIS_CLUSTER_NODES } : {}),
    /** The cluster nodes' password (REDIS_PASSWORD); a single Redis takes it from `url`. */
    ...(e.REDIS_PASSWORD ? { password: e.REDIS_PASSWORD } : {}),
    /**
     * BullMQ key prefix. The braces make it a Redis Cluster hash tag: a flow's Lua scripts touch the keys
     * of several queues at once, which Cluster allows only when they hash to one slot.
     */
    prefix: e.QUEUE_PREFIX,
  }));

export type RedisConfig = z.output<typeof redisEnv>;

export function readRedisConfig(env: NodeJS.ProcessEnv = process.env): RedisConfig {
  return readEnv(redisEnv, env);
}
