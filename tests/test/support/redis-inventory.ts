import { parseStageQueueName, scanKeys, type RedisClient } from '@audio/queues';

/** BullMQ's keys of a queue as a whole (`{prefix}:{queue}:{name}`); every other key is a job's. */
const QUEUE_KEYS = new Set([
  'wait',
  'active',
  'paused',
  'completed',
  'failed',
  'delayed',
  'prioritized',
  'waiting-children',
  'meta',
  'events',
  'id',
  'marker',
  'stalled',
  'stalled-check',
  'limiter',
  'pc',
  'metrics',
  'repeat',
  'de',
]);

export interface QueueInventory {
  queue: string;
  /** The stage of the queue (`convert`, `transcribe`, …). */
  stage: string;
  states: Record<
    'completed' | 'failed' | 'waiting' | 'active' | 'delayed' | 'prioritized' | 'waitingChildren',
    number
  >;
  /** Jobs with a key in Redis (their hash, `:processed`, `:dependencies`, `:logs`, `:lock`, …). */
  jobsWithKeys: number;
  /** Keys of those jobs. */
  jobKeys: number;
  /** Job ids that have keys but are in none of the queue's states: a leak. */
  orphanJobs: string[];
  /** Bytes of the jobs' keys (MEMORY USAGE), by job. */
  jobBytes: number;
  eventsLength: number;
  eventsBytes: number;
  /** The events stream's cap (the queue's `maxLenEvents`). */
  maxLenEvents: number;
}

export interface RedisInventory {
  keys: number;
  queues: QueueInventory[];
  /** Keys of the apps' own (heartbeats, …), by their second segment. */
  appKeys: Record<string, number>;
}

/**
 * Every key under a prefix, accounted for: each queue's state sets, the jobs that have keys and how
 * much memory they take, the events stream; what is neither a queue's nor a job's key is the apps' own.
 */
export async function inventoryRedis(redis: RedisClient, prefix: string): Promise<RedisInventory> {
  const keys = [...new Set(await scanKeys(redis, `${prefix}:*`))];
  const queueNames = keys
    .filter((k) => k.endsWith(':meta'))
    .map((k) => k.slice(prefix.length + 1, -':meta'.length))
    .filter((q) => !q.includes(':'));
  const byQueue = new Map<string, string[]>(queueNames.map((q) => [q, []]));
  const appKeys: Record<string, number> = {};
  for (const key of keys) {
    const rest = key.slice(prefix.length + 1);
    const segment = rest.slice(0, rest.indexOf(':'));
    const queueKeys = byQueue.get(segment);
    if (queueKeys) queueKeys.push(rest.slice(segment.length + 1));
    else appKeys[segment || rest] = (appKeys[segment || rest] ?? 0) + 1;
  }

  const queues: QueueInventory[] = [];
  for (const [queue, rests] of byQueue) {
    const k = (name: string) => `${prefix}:${queue}:${name}`;
    const [completed, failed, delayed, prioritized, waitingChildren] = await Promise.all(
      ['completed', 'failed', 'delayed', 'prioritized', 'waiting-children'].map((s) =>
        redis.zrange(k(s), 0, -1),
      ),
    );
    const [waiting, active, paused] = await Promise.all(
      ['wait', 'active', 'paused'].map((s) => redis.lrange(k(s), 0, -1)),
    );
    const known = new Set(
      [completed, failed, delayed, prioritized, waitingChildren, waiting, active, paused].flat(),
    );
    const jobKeys = new Map<string, string[]>();
    for (const rest of rests) {
      const first = rest.split(':')[0]!;
      if (QUEUE_KEYS.has(first)) continue;
      jobKeys.set(first, [...(jobKeys.get(first) ?? []), k(rest)]);
    }
    let jobBytes = 0;
    const allJobKeys = [...jobKeys.values()].flat();
    for (let i = 0; i < allJobKeys.length; i += 500) {
      const pipeline = redis.pipeline();
      for (const key of allJobKeys.slice(i, i + 500)) pipeline.memory('USAGE', key);
      for (const [error, bytes] of (await pipeline.exec()) ?? []) if (!error) jobBytes += Number(bytes ?? 0);
    }
    const maxLenEvents = Number((await redis.hget(k('meta'), 'opts.maxLenEvents')) ?? 10_000);
    queues.push({
      queue,
      stage: parseStageQueueName(queue)?.stage ?? queue,
      states: {
        completed: completed!.length,
        failed: failed!.length,
        waiting: waiting!.length + paused!.length,
        active: active!.length,
        delayed: delayed!.length,
        prioritized: prioritized!.length,
        waitingChildren: waitingChildren!.length,
      },
      jobsWithKeys: jobKeys.size,
      jobKeys: allJobKeys.length,
      orphanJobs: [...jobKeys.keys()].filter((id) => !known.has(id)),
      jobBytes,
      eventsLength: await redis.xlen(k('events')),
      eventsBytes: Number((await redis.memory('USAGE', k('events'), 'SAMPLES', 0)) ?? 0),
      maxLenEvents,
    });
  }
  return { keys: keys.length, queues: queues.sort((a, b) => a.queue.localeCompare(b.queue)), appKeys };
}
