import type { BatchRepository, OwnedBatch } from '@audio/db';
import type { Logger } from '@audio/logger';
import { noticeSilentHost, readHeartbeats, readHostsLastSeen, type RedisClient } from '@audio/queues';
import type { ObjectStore } from '@audio/storage';
import { replayBatch, ReplayError, type ReplayResult, type UnpackQueue } from './batch-replay.js';

export interface DeadHostDetectorDeps {
  redis: RedisClient;
  /** QUEUE_PREFIX: the heartbeats' and the locks' key prefix. */
  prefix: string;
  /** The host this detector runs on: never declared dead by itself. */
  hostId: string;
  batches: BatchRepository;
  store: ObjectStore;
  unpackQueue: UnpackQueue;
  logger: Logger;
  onReplay?: (deadHost: string) => void;
  now?: () => Date;
}

export interface DeadHostDetectorOptions {
  /** How long a host must have been silent (no heartbeat from any of its apps) to count as dead. */
  graceMs: number;
  /** How often to look. */
  intervalMs: number;
  /**
   * How long the per-run replay lock lives. It outlives the replay job's wait in the shared queue, and
   * a replay that has started moves the batch to a live host (a new run), so the lock is not needed after.
   */
  lockMs?: number;
}

export interface DeadHostReplay extends ReplayResult {
  deadHost: string;
  lastSeenAt: Date;
}

/** States in which an unpack job will run by itself (an active one of a dead worker: once stalled). */
const WILL_RUN = new Set(['waiting', 'active', 'delayed', 'prioritized', 'waiting-children']);
const DAY_MS = 86_400_000;

/** The unpack job of a batch's run (the ids `BatchRegistrar` and `replayBatch` give them). */
function unpackJobId(batch: OwnedBatch): string {
  if (!batch.run) return batch.batchId;
  return `${batch.batchId}-${batch.scope === 'failed-files' ? 'retry' : 'replay'}-${batch.run}`;
}

/**
 * Finds hosts that went silent while they owned unfinished batches and replays those batches from their
 * S3 archives on the live hosts (the shared `unpack` queue). Every unpack app runs one, so detection
 * survives the death of any one host; several detectors are safe: a replay is queued only under a Redis
 * `SET NX PX` lock per (batch, dead run), with a run number derived from the batch's runs, so racing
 * detectors also produce one job id. A batch whose unpack job the dead host was still in is left to
 * BullMQ while that job will run again by itself (a stalled job goes back to the shared queue).
 */
export class DeadHostDetector {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<unknown> | undefined;

  constructor(
    private readonly deps: DeadHostDetectorDeps,
    private readonly options: DeadHostDetectorOptions,
  ) {}

  /** One look: returns the replays it queued. */
  async check(): Promise<DeadHostReplay[]> {
    const { deps } = this;
    const owned = await deps.batches.unfinishedOwned();
    const owners = new Set(owned.map((b) => b.host).filter((h) => h !== deps.hostId));
    if (owners.size === 0) return [];
    // A live heartbeat key says alive whatever the clocks say (and covers a release without last-seen).
    const live = new Set((await readHeartbeats(deps.redis, deps.prefix)).map((h) => h.hostId));
    const lastSeen = await readHostsLastSeen(deps.redis, deps.prefix);
    const now = deps.now?.() ?? new Date();
    const dead = new Map<string, Date>();
    for (const host of owners) {
      if (live.has(host)) continue;
      const seen = lastSeen.get(host);
      if (!seen) {
        await noticeSilentHost(deps.redis, deps.prefix, host, now);
        deps.logger.warn(
          { host },
          'host owns unfinished batches and was never seen: grace period starts now',
        );
      } else if (now.getTime() - seen.getTime() >= this.options.graceMs) dead.set(host, seen);
    }
    const replays: DeadHostReplay[] = [];
    for (const batch of owned) {
      const lastSeenAt = dead.get(batch.host);
      if (!lastSeenAt) continue;
      try {
        const replay = await this.rescue(batch, lastSeenAt);
        if (replay) replays.push(replay);
      } catch (err) {
        deps.logger.error({ err, batchId: batch.batchId, deadHost: batch.host }, 'dead host: replay failed');
      }
    }
    return replays;
  }

  private async rescue(batch: OwnedBatch, lastSeenAt: Date): Promise<DeadHostReplay | undefined> {
    const { deps } = this;
    const log = deps.logger.child({ batchId: batch.batchId, deadHost: batch.host });
    // Killed inside its unpack job (even after the flow was made): BullMQ's stalled check hands that
    // job to a live host, which takes the batch over; a replay beside it would only run it twice.
    const job = await deps.unpackQueue.getJob(unpackJobId(batch));
    const state = job ? await job.getState() : undefined;
    if (state && WILL_RUN.has(state)) {
      log.debug({ state }, 'dead host was in its unpack job: the job comes back by itself');
      return undefined;
    }
    const lockKey = `${deps.prefix}:dead-host-replay:${batch.batchId}:${batch.run ?? 0}`;
    const locked = await deps.redis.set(lockKey, deps.hostId, 'PX', this.options.lockMs ?? DAY_MS, 'NX');
    if (locked !== 'OK') return undefined; // another detector has replayed (or is replaying) this run
    // Re-read under the lock: the batch may have finished or moved on since the scan.
    const [current] = await deps.batches.unfinishedOwned(batch.batchId);
    if (!current || current.host !== batch.host || current.run !== batch.run) {
      await deps.redis.del(lockKey);
      return undefined;
    }
    let replay: ReplayResult;
    try {
      replay = await replayBatch(
        batch.batchId,
        { batches: deps.batches, store: deps.store, unpackQueue: deps.unpackQueue },
        // Deterministic: two detectors that got past the lock in turn (expired) still add one job id.
        { run: current.maxRun + 1 },
      );
    } catch (error) {
      // A batch that cannot be replayed (archive gone) keeps its lock: one error, not one per round.
      if (!(error instanceof ReplayError)) await deps.redis.del(lockKey).catch(() => undefined);
      throw error;
    }
    deps.onReplay?.(batch.host);
    log.warn(
      {
        lastSeenAt: lastSeenAt.toISOString(),
        previousStatus: batch.status,
        deadRun: batch.run,
        run: replay.run,
        jobId: replay.jobId,
      },
      'dead host: batch replayed on the live hosts',
    );
    return { ...replay, deadHost: batch.host, lastSeenAt };
  }

  /** Looks every `intervalMs`, one look at a time; errors are logged, never thrown. */
  start(): void {
    const tick = () => {
      if (this.running) return;
      this.running = this.check()
        .catch((err: unknown) => this.deps.logger.warn({ err }, 'dead-host check failed'))
        .finally(() => (this.running = undefined));
    };
    this.timer = setInterval(tick, this.options.intervalMs);
    this.timer.unref();
  }

  /** Stops looking and waits for a look in progress. */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.running;
  }
}
