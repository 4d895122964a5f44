import type { RedisClient } from '@audio/queues';

/**
 * Waits until the connection is ready; resolves false at its first connection error or after
 * `timeoutMs` (the caller goes on: a dashboard that starts while Redis is down still serves /health,
 * which says so, and ioredis keeps reconnecting). Needed because producer connections have no offline
 * queue: commands sent while still connecting fail.
 */
export function waitForRedis(redis: RedisClient, timeoutMs: number): Promise<boolean> {
  if (redis.status === 'ready') return Promise.resolve(true);
  return new Promise((resolve) => {
    const done = (ready: boolean) => {
      clearTimeout(timer);
      redis.off('ready', onReady);
      redis.off('error', onError);
      resolve(ready);
    };
    const onReady = () => done(true);
    const onError = () => done(false);
    const timer = setTimeout(() => done(false), timeoutMs);
    redis.on('ready', onReady);
    redis.on('error', onError);
  });
}
