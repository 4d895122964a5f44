import type { RedisClient } from '@audio/queues';
import { RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';

export type RateDecision = { ok: true } | { ok: false; retryAfterSeconds: number };

/**
 * Requests per client and window, counted in Redis (rate-limiter-flexible), so the limit holds across
 * every transfer instance behind a load balancer rather than per process.
 */
export class ClientRateLimit {
  private readonly limiter: RateLimiterRedis;

  constructor(
    redis: RedisClient,
    prefix: string,
    readonly limit: { points: number; windowSeconds: number },
  ) {
    this.limiter = new RateLimiterRedis({
      storeClient: redis,
      keyPrefix: `${prefix}:transfer:rate`,
      points: limit.points,
      duration: limit.windowSeconds,
      // Redis down: fail the request (500) rather than let every client through unlimited.
      rejectIfRedisNotReady: true,
    });
  }

  async take(clientName: string): Promise<RateDecision> {
    try {
      await this.limiter.consume(clientName);
      return { ok: true };
    } catch (error) {
      if (!(error instanceof RateLimiterRes)) throw error;
      return { ok: false, retryAfterSeconds: Math.max(1, Math.ceil(error.msBeforeNext / 1000)) };
    }
  }
}
