import type { Redis } from 'ioredis';
import { z } from 'zod';

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
 * Every worker process writes a small JSON heartbeat that expires after three missed beats, so a dead
 * host disappears from the dashboard by itself.
 */
export class HeartbeatPublisher {
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly redis: Redis,
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
    await this.redis.set(
      heartbeatKey(this.prefix, this.identity.hostId, this.identity.app),
      JSON.stringify(beat),
      'EX',
      ttlSeconds,
    );
    return beat;
  }

  start(): void {
    const tick = () => void this.beat().catch(() => undefined);
    tick();
    this.timer = setInterval(tick, this.intervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.redis
      .del(heartbeatKey(this.prefix, this.identity.hostId, this.identity.app))
      .catch(() => undefined);
  }
}

/** All live heartbeats (SCAN, never KEYS: the dashboard must not block a busy Redis). */
export async function readHeartbeats(redis: Redis, prefix: string): Promise<Heartbeat[]> {
  const keys: string[] = [];
  let cursor = '0';
  do {
    const [next, batch] = await redis.scan(cursor, 'MATCH', heartbeatKey(prefix, '*', '*'), 'COUNT', 500);
    cursor = next;
    keys.push(...batch);
  } while (cursor !== '0');
  if (keys.length === 0) return [];
  const values = await redis.mget(keys);
  return values
    .flatMap((v) => (v ? [heartbeatSchema.safeParse(JSON.parse(v))] : []))
    .flatMap((r) => (r.success ? [r.data] : []))
    .sort((a, b) => (a.hostId + a.app).localeCompare(b.hostId + b.app));
}
