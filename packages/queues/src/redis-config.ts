import { z } from 'zod';
import { envVar, integerFromEnv, readEnv } from '@audio/config';

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
    QUEUE_PREFIX: envVar(
      z
        .string()
        .regex(/^[^:\s]+$/, 'must not contain ":" or spaces')
        .default('{audio}'),
      '{audio}',
    ),
  })
  .transform((e) => ({
    url:
      e.REDIS_URL ??
      `redis://${e.REDIS_PASSWORD ? `:${encodeURIComponent(e.REDIS_PASSWORD)}@` : ''}${e.REDIS_HOST ?? '127.0.0.1'}:${e.REDIS_PORT}/${e.REDIS_DB}`,
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
