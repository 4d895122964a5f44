import { z } from 'zod';
import { durationFromEnv, envConfig, fromEnv, readEnv } from '@audio/config';
import { scanKeys, type RedisClient } from './connections.js';

export const heartbeatSchema = z.object({
  hostId: z.string(),
  app: z.string(),
  version: z.string(),
  pid: z.number(),
  /** Queues this process works on (host-affine names included): the dashboard discovers queues from them. */
  queues: z.array(z.string()),
  activeJobs: z.number(),
  freeScratchBytes: z.number().nullable(),
  /** The release this process runs (a deployed `/opt/audio-pipeline/releases/{version}`), when known. */
  release: z.string().optional(),
  /** Model name → version the process has loaded (the GPU app: from its sidecar's ready message). */
  models: z.record(z.string(), z.string()).optional(),
  updatedAt: z.string(),
});
export type Heartbeat = z.infer<typeof heartbeatSchema>;

const heartbeatKey = (prefix: string, hostId: string, app: string) => `${prefix}:heartbeat:${hostId}:${app}`;
/**
 * Hash hostId → last beat (ms since the epoch, the host's clock), kept after the heartbeat itself
 * expired: how long a host has been silent is what the dead-host detector's grace period is about.
 */
const lastSeenKey = (prefix: string) => `${prefix}:hosts:last-seen`;

const heartbeatEnv = envConfig({
  /** How often a process beats; its heartbeat expires after three missed beats. */
  intervalMs: fromEnv(
    'HEARTBEAT_INTERVAL',
    durationFromEnv.default(10_000).pipe(z.number().min(100, 'must be at least 100ms')),
    '10s',
  ),
});

/** HEARTBEAT_INTERVAL in ms (default 10 s); tests shorten it so a killed host goes silent sooner. */
export function readHeartbeatInterval(env: NodeJS.ProcessEnv = process.env): number {
  return readEnv(heartbeatEnv, env).intervalMs;
}

/**
 * Every worker process writes a small JSON heartbeat that expires after three missed beats, so a dead
 * host disappears from the dashboard by itself.
 */
export class HeartbeatPublisher {
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly redis: RedisClient,
    private readonly prefix: string,
    private readonly identity: {
      hostId: string;
      app: string;
      version: string;
      queues: string[];
      release?: string;
    },
    private readonly collect: () => Promise<
      Pick<Heartbeat, 'activeJobs' | 'freeScratchBytes'> & Partial<Pick<Heartbeat, 'models'>>
    >,
    private readonly intervalMs = 10_000,
  ) {}

  async beat(): Promise<Heartbeat> {
    const beat: Heartbeat = {
      ...this.identity,
      pid: process.pid,
      ...(await this.collect()),
      updatedAt: new Date().toISOString(),
    };
    const ttlSeconds = Math.max(1, Math.ceil((this.intervalMs * 3) / 1000));
    // One hash tag (the prefix) for both keys, so a MULTI works on Redis Cluster too.
    await this.redis
      .multi()
      .set(
        heartbeatKey(this.prefix, this.identity.hostId, this.identity.app),
        JSON.stringify(beat),
        'EX',
        ttlSeconds,
      )
      .hset(lastSeenKey(this.prefix), this.identity.hostId, String(Date.parse(beat.updatedAt)))
      .exec();
    return beat;
  }

  start(): void {
    const tick = () => void this.beat().catch(() => undefined);
    tick();
    this.timer = setInterval(tick, this.intervalMs);
    this.timer.unref();
  }

  /** Stops beating and removes the heartbeat; the host's last-seen time stays (its batches may need rescue). */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.redis
      .del(heartbeatKey(this.prefix, this.identity.hostId, this.identity.app))
      .catch(() => undefined);
  }
}

/** All live heartbeats (SCAN, never KEYS: the dashboard must not block a busy Redis). */
export async function readHeartbeats(redis: RedisClient, prefix: string): Promise<Heartbeat[]> {
  const keys = await scanKeys(redis, heartbeatKey(prefix, '*', '*'));
  if (keys.length === 0) return [];
  const values = await redis.mget(keys);
  return values
    .flatMap((v) => (v ? [heartbeatSchema.safeParse(JSON.parse(v))] : []))
    .flatMap((r) => (r.success ? [r.data] : []))
    .sort((a, b) => (a.hostId + a.app).localeCompare(b.hostId + b.app));
}

/** When each host last beat (any of its apps), from the hash every heartbeat updates. */
export async function readHostsLastSeen(redis: RedisClient, prefix: string): Promise<Map<string, Date>> {
  const all = await redis.hgetall(lastSeenKey(prefix));
  return new Map(
    Object.entries(all).flatMap(([hostId, ms]) =>
      Number.isFinite(Number(ms)) ? [[hostId, new Date(Number(ms))]] : [],
    ),
  );
}

/**
 * Records `at` as a host's last-seen time unless it has one (HSETNX): a host that owns batches but never
 * beat since this hash existed (Redis restored without it, an older release) gets its grace period
 * counted from when a detector first noticed it.
 */
export async function noticeSilentHost(
  redis: RedisClient,
  prefix: string,
  hostId: string,
  at: Date,
): Promise<void> {
  await redis.hsetnx(lastSeenKey(prefix), hostId, String(at.getTime()));
}
