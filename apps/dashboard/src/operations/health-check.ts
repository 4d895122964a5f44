import type { Redis } from 'ioredis';
import { MonitoringQueries, type Db, type NoonTargetReport, type StuckBatch } from '@audio/db';
import { readHeartbeats, parseHostQueueName, type Heartbeat } from '@audio/queues';
import type { ObjectStore } from '@audio/storage';
import type { HealthSettings } from '../server/dashboard-config.js';
import { formatBytes, formatDuration } from '../views/display-format.js';
import type { QueueRegistry } from './queue-registry.js';

export interface DependencyStatus {
  ok: boolean;
  latencyMs: number;
  error?: string;
}

export interface QueueDepth {
  name: string;
  kind: string;
  hostId: string | null;
  paused: boolean;
  waiting: number;
  active: number;
  delayed: number;
  prioritized: number;
  waitingChildren: number;
  failed: number;
  completed: number;
}

export interface WorkerStatus {
  app: string;
  version: string;
  pid: number;
  activeJobs: number;
  queues: string[];
  freeScratchBytes: number | null;
  /** The deployed release it runs, when known. */
  release?: string;
  /** Model name → version it has loaded (GPU workers). */
  models?: Record<string, string>;
  updatedAt: string;
  ageSeconds: number;
}

export interface HostStatus {
  hostId: string;
  /** A live heartbeat from at least one of its processes. */
  alive: boolean;
  /** Model name → version its processes report (a model two processes disagree on: `v1 / v2`). */
  models: Record<string, string>;
  /** The smallest free scratch any of its processes reports (they share the disk). */
  freeScratchBytes: number | null;
  scratchLow: boolean;
  activeJobs: number;
  /** Jobs waiting, delayed or active in its host-affine queues. */
  pendingJobs: number;
  workers: WorkerStatus[];
}

export interface HealthReport {
  status: 'healthy' | 'unhealthy';
  /** One line per problem, naming what is wrong; empty when healthy. */
  problems: string[];
  checkedAt: string;
  durationMs: number;
  dependencies: { redis: DependencyStatus; postgres: DependencyStatus; s3: DependencyStatus };
  /** Null when Redis could not be read. */
  queues: QueueDepth[] | null;
  hosts: HostStatus[] | null;
  stuckBatches: { olderThanMs: number; count: number; batches: StuckBatch[] } | null;
  noonTarget: NoonTargetReport | null;
}

export interface HealthDeps {
  redis: Redis;
  prefix: string;
  db: Db;
  store: ObjectStore;
  queues: QueueRegistry;
  settings: HealthSettings;
}

const STATES = [
  'waiting',
  'active',
  'delayed',
  'prioritized',
  'waiting-children',
  'failed',
  'completed',
  'paused',
] as const;

/**
 * What `/health` and the `health` CLI report: Redis, Postgres and S3 reachability with latency, queue
 * depths, each host's heartbeats and scratch, stuck batches and the noon target. Unhealthy when a
 * dependency is unreachable, a batch is stuck, a host is low on scratch, a dead host still has jobs in
 * its queues, or the noon deadline passed with batches incomplete.
 */
export class HealthChecker {
  private readonly monitoring: MonitoringQueries;

  constructor(private readonly deps: HealthDeps) {
    this.monitoring = new MonitoringQueries(deps.db);
  }

  async check(): Promise<HealthReport> {
    const started = Date.now();
    const { settings } = this.deps;
    const [redis, postgres, s3] = await Promise.all([
      this.timed('redis', () => this.deps.redis.ping()),
      this.timed('postgres', () => this.deps.db.ping()),
      this.timed('s3', () => this.deps.store.list({ prefix: 'archives/', limit: 1 })),
    ]);
    const problems: string[] = [];
    for (const [name, status] of Object.entries({ redis, postgres, s3 })) {
      if (!status.ok) problems.push(`${name} unreachable: ${status.error}`);
    }

    const [fleet, stuck, noon] = await Promise.all([
      redis.ok ? this.attempt('queues', () => this.fleet(), problems) : null,
      postgres.ok
        ? this.attempt(
            'stuck batches',
            () => this.monitoring.stuckBatches({ olderThanMs: settings.stuckAfterMs }),
            problems,
          )
        : null,
      postgres.ok
        ? this.attempt('noon target', () => this.monitoring.noonTarget(settings.noon), problems)
        : null,
    ]);

    for (const host of fleet?.hosts ?? []) {
      if (host.scratchLow) {
        problems.push(
          `host ${host.hostId}: free scratch ${formatBytes(host.freeScratchBytes)} is below ${formatBytes(settings.minFreeScratchBytes)}`,
        );
      }
      if (!host.alive && host.pendingJobs > 0) {
        problems.push(
          `host ${host.hostId}: no heartbeat, but ${host.pendingJobs} jobs are pending in its queues`,
        );
      }
    }
    if (stuck && stuck.length > 0) {
      const shown = stuck
        .slice(0, 5)
        .map((b) => `${b.batchId} (${b.status}, ${formatDuration(b.ageSeconds * 1000)})`)
        .join(', ');
      problems.push(
        `${stuck.length} batch${stuck.length === 1 ? '' : 'es'} stuck for more than ${formatDuration(settings.stuckAfterMs)}: ${shown}${stuck.length > 5 ? ', …' : ''}`,
      );
    }
    if (noon && noon.deadlinePassed && !noon.met) {
      problems.push(
        `noon target missed: ${noon.lateBatchIds.length} of ${noon.batchesDue} batches due by ${settings.noon.deadline} ${settings.noon.timeZone} are not complete (${noon.lateBatchIds.slice(0, 5).join(', ')})`,
      );
    }

    return {
      status: problems.length === 0 ? 'healthy' : 'unhealthy',
      problems,
      checkedAt: new Date(started).toISOString(),
      durationMs: Date.now() - started,
      dependencies: { redis, postgres, s3 },
      queues: fleet?.queues ?? null,
      hosts: fleet?.hosts ?? null,
      stuckBatches: stuck
        ? { olderThanMs: settings.stuckAfterMs, count: stuck.length, batches: stuck }
        : null,
      noonTarget: noon,
    };
  }

  /** Queue depths and hosts; the registry learns the queues the heartbeats name. */
  private async fleet(): Promise<{ queues: QueueDepth[]; hosts: HostStatus[] }> {
    const heartbeats = await this.withTimeout(
      'heartbeats',
      readHeartbeats(this.deps.redis, this.deps.prefix),
    );
    this.deps.queues.addFromHeartbeats(heartbeats);
    const queues = await this.withTimeout(
      'queue depths',
      Promise.all(
        this.deps.queues.names().map(async (name): Promise<QueueDepth> => {
          const queue = this.deps.queues.get(name)!;
          const [counts, paused] = await Promise.all([queue.getJobCounts(...STATES), queue.isPaused()]);
          const host = parseHostQueueName(name);
          return {
            name,
            kind: host?.kind ?? name,
            hostId: host?.hostId ?? null,
            paused,
            waiting: (counts.waiting ?? 0) + (counts.paused ?? 0),
            active: counts.active ?? 0,
            delayed: counts.delayed ?? 0,
            prioritized: counts.prioritized ?? 0,
            waitingChildren: counts['waiting-children'] ?? 0,
            failed: counts.failed ?? 0,
            completed: counts.completed ?? 0,
          };
        }),
      ),
    );
    return { queues, hosts: this.hosts(heartbeats, queues) };
  }

  private hosts(heartbeats: Heartbeat[], queues: QueueDepth[]): HostStatus[] {
    const now = Date.now();
    const hosts = new Map<string, HostStatus>();
    const hostOf = (hostId: string, alive: boolean): HostStatus => {
      let host = hosts.get(hostId);
      if (!host) {
        host = {
          hostId,
          alive,
          models: {},
          freeScratchBytes: null,
          scratchLow: false,
          activeJobs: 0,
          pendingJobs: 0,
          workers: [],
        };
        hosts.set(hostId, host);
      }
      return host;
    };
    for (const beat of heartbeats) {
      const host = hostOf(beat.hostId, true);
      host.workers.push({
        app: beat.app,
        version: beat.version,
        pid: beat.pid,
        activeJobs: beat.activeJobs,
        queues: beat.queues,
        freeScratchBytes: beat.freeScratchBytes,
        ...(beat.release ? { release: beat.release } : {}),
        ...(beat.models ? { models: beat.models } : {}),
        updatedAt: beat.updatedAt,
        ageSeconds: Math.max(0, (now - Date.parse(beat.updatedAt)) / 1000),
      });
      host.activeJobs += beat.activeJobs;
      if (beat.freeScratchBytes !== null) {
        host.freeScratchBytes = Math.min(host.freeScratchBytes ?? Infinity, beat.freeScratchBytes);
      }
      for (const [name, version] of Object.entries(beat.models ?? {})) {
        const known = host.models[name]?.split(' / ') ?? [];
        if (!known.includes(version)) host.models[name] = [...known, version].sort().join(' / ');
      }
    }
    for (const q of queues) {
      if (!q.hostId) continue;
      const host = hostOf(q.hostId, false);
      // waiting-children: a finalize job waits for its files; the files themselves are counted already.
      host.pendingJobs += q.waiting + q.active + q.delayed + q.prioritized;
    }
    for (const host of hosts.values()) {
      host.scratchLow =
        host.freeScratchBytes !== null && host.freeScratchBytes < this.deps.settings.minFreeScratchBytes;
    }
    return [...hosts.values()].sort((a, b) => a.hostId.localeCompare(b.hostId));
  }

  private async timed(name: string, probe: () => Promise<unknown>): Promise<DependencyStatus> {
    const started = performance.now();
    try {
      await this.withTimeout(name, probe());
      return { ok: true, latencyMs: round(performance.now() - started) };
    } catch (error) {
      return { ok: false, latencyMs: round(performance.now() - started), error: describe(error) };
    }
  }

  /** A part of the report that failed leaves its section null and says so in `problems`. */
  private async attempt<T>(what: string, fn: () => Promise<T>, problems: string[]): Promise<T | null> {
    try {
      return await this.withTimeout(what, fn());
    } catch (error) {
      problems.push(`${what} could not be read: ${describe(error)}`);
      return null;
    }
  }

  private withTimeout<T>(what: string, promise: Promise<T>): Promise<T> {
    const ms = this.deps.settings.timeoutMs;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms);
    });
    return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
  }
}

function round(ms: number): number {
  return Math.round(ms * 10) / 10;
}

function describe(error: unknown): string {
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    const message = error.message || error.name;
    return typeof code === 'string' && !message.includes(code) ? `${code}: ${message}` : message;
  }
  return String(error);
}
