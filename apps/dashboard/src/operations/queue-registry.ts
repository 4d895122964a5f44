import { Queue } from 'bullmq';
import type { RedisClient } from '@audio/queues';
import type { Logger } from '@audio/logger';
import { parseHostQueueName, readHeartbeats, scanKeys, UNPACK_QUEUE, type Heartbeat } from '@audio/queues';

/** Every Nth discovery also scans Redis for queues no live worker names (a dead host's backlog). */
const KEY_SCAN_EVERY = 20;

/**
 * The queues the dashboard shows: `unpack` plus every host-affine queue ever seen, from worker
 * heartbeats (re-read every QUEUE_DISCOVERY_INTERVAL) and from the queues' `meta` keys in Redis (at
 * start and every 20th round). Queues are never dropped: a dead host's queues still hold its jobs.
 */
export class QueueRegistry {
  private readonly queues = new Map<string, Queue>();
  /** Queues whose BullMQ connection set-up has finished (see close()). */
  private readonly initialised = new WeakSet<Queue>();
  private readonly listeners: ((queue: Queue) => void)[] = [];
  private timer: NodeJS.Timeout | undefined;
  private rounds = 0;

  constructor(
    private readonly connection: RedisClient,
    readonly prefix: string,
    private readonly logger?: Logger,
  ) {
    this.add(UNPACK_QUEUE);
  }

  /** Calls `listener` for every queue known now and every one found later. */
  onQueueAdded(listener: (queue: Queue) => void): void {
    this.listeners.push(listener);
    for (const queue of this.queues.values()) listener(queue);
  }

  /** Known queue names: `unpack` first, then by host and kind. */
  names(): string[] {
    return [...this.queues.keys()].sort((a, b) =>
      a === UNPACK_QUEUE ? -1 : b === UNPACK_QUEUE ? 1 : hostOrder(a).localeCompare(hostOrder(b)),
    );
  }

  get(name: string): Queue | undefined {
    return this.queues.get(name);
  }

  /** The queue of that name, registered if new; undefined for names that are not pipeline queues. */
  add(name: string): Queue | undefined {
    const existing = this.queues.get(name);
    if (existing) return existing;
    if (name !== UNPACK_QUEUE && !parseHostQueueName(name)) return undefined;
    const queue = new Queue(name, { connection: this.connection, prefix: this.prefix });
    queue.on('error', (error) => this.logger?.warn({ queue: name, err: error.message }, 'queue error'));
    queue.waitUntilReady().then(
      () => this.initialised.add(queue),
      () => undefined, // reported through the 'error' listener above
    );
    this.queues.set(name, queue);
    this.logger?.info({ queue: name }, 'queue discovered');
    for (const listener of this.listeners) listener(queue);
    return queue;
  }

  /** Registers the queues that live workers name in their heartbeats. */
  addFromHeartbeats(heartbeats: Heartbeat[]): void {
    for (const beat of heartbeats) for (const name of beat.queues) this.add(name);
  }

  /** One discovery round; returns the heartbeats it read. */
  async discover(options: { scanKeys?: boolean } = {}): Promise<Heartbeat[]> {
    const heartbeats = await readHeartbeats(this.connection, this.prefix);
    this.addFromHeartbeats(heartbeats);
    if (options.scanKeys) for (const name of await this.scanQueueNames()) this.add(name);
    return heartbeats;
  }

  start(intervalMs: number): void {
    const round = () => {
      this.rounds++;
      this.discover({ scanKeys: this.rounds % KEY_SCAN_EVERY === 0 }).catch((error: unknown) =>
        this.logger?.warn({ err: error instanceof Error ? error.message : error }, 'queue discovery failed'),
      );
    };
    this.timer = setInterval(round, intervalMs);
    this.timer.unref();
  }

  /**
   * Closing a queue on the caller's shared connection only detaches BullMQ's listeners from it. A queue
   * still setting up (Redis down, or its first INFO in flight) must keep them: when the caller then
   * disconnects, its set-up fails, and without a listener BullMQ turns that failure into an unhandled
   * rejection (taskforcesh/bullmq#3546; it crashed the health CLI run while Redis was down). Those
   * queues are left to go with the connection.
   */
  async close(): Promise<void> {
    clearInterval(this.timer);
    const ready = [...this.queues.values()].filter((queue) => this.initialised.has(queue));
    await Promise.all(ready.map((queue) => queue.close().catch(() => undefined)));
  }

  /** Queue names from BullMQ's `{prefix}:{name}:meta` keys (SCAN on every master, never KEYS). */
  private async scanQueueNames(): Promise<string[]> {
    const keys = await scanKeys(this.connection, `${escapeGlob(this.prefix)}:*:meta`);
    return [...new Set(keys.map((key) => key.slice(this.prefix.length + 1, -':meta'.length)))];
  }
}

function hostOrder(name: string): string {
  const parsed = parseHostQueueName(name);
  const kindOrder = { convert: 1, transcribe: 2, finalize: 3 } as const;
  return parsed ? `${parsed.hostId}\0${kindOrder[parsed.kind]}` : name;
}

function escapeGlob(text: string): string {
  return text.replace(/[*?[\]\\]/g, '\\$&');
}
