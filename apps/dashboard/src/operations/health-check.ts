import type { RedisClient } from '@audio/queues';
import {
  MonitoringQueries,
  type Db,
  type NoonTargetReport,
  type RecentFailures,
  type StuckBatch,
} from '@audio/db';
import { readHeartbeats, parseHostQueueName, type Heartbeat } from '@audio/queues';
import type { ObjectStore } from '@audio/storage';
import type { HealthSettings } from '../server/dashboard-config.js';
import { formatBytes, formatDuration } from '../views/display-format.js';
import { forecastNoon, type NoonForecast } from './noon-forecast.js';
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
  /** A live process of it works on a transcribe queue: it counts in the noon forecast. */
  processes: boolean;
  workers: WorkerStatus[];
}

export interface HealthReport {
  /**
   * `unhealthy`: something is down or late (HTTP 503, exit 1); `degraded`: all runs, but an operator
   * should look — batches or files failed in the last 24 h, or the noon forecast passes the deadline
   * (HTTP 200, exit 3); else `healthy`.
   */
  status: 'healthy' | 'degraded' | 'unhealthy';
  /** One line per problem, naming what is wrong; empty when healthy. */
  problems: string[];
  /** One line per thing to look at (recent failures, the noon forecast); they make the status `degraded`. */
  warnings: string[];
  checkedAt: string;
  durationMs: number;
  dependencies: { redis: DependencyStatus; postgres: DependencyStatus; s3: DependencyStatus };
  /** Null when Redis could not be read. */
  queues: QueueDepth[] | null;
  hosts: HostStatus[] | null;
  stuckBatches: { olderThanMs: number; count: number; batches: StuckBatch[] } | null;
  noonTarget: NoonTargetReport | null;
  noonForecast: NoonForecast | null;
  /** Failed batches and files in the last 24 h; null when Postgres could not be read. */
  recentFailures: RecentFailures | null;
}

export interface HealthDeps {
  redis: RedisClient;
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
 * its queues, or the noon deadline passed with batches incomplete. A warning (not yet a failure) when
 * the noon forecast passes the deadline, or files are due and no live host has a measured rate.
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

    const [fleet, stuck, noon, pace, recent] = await Promise.all([
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
      postgres.ok
        ? this.attempt(
            'noon forecast',
            () =>
              Promise.all([
                this.monitoring.noonBacklog(settings.noon),
                this.monitoring.hostThroughput({ windowMs: settings.throughputWindowMs }),
              ]),
            problems,
          )
        : null,
      postgres.ok ? this.attempt('recent failures', () => this.monitoring.recentFailures(), problems) : null,
    ]);
    const warnings: string[] = [];
    if (recent && recent.failedBatches.length > 0) {
      const n = recent.failedBatches.length;
      warnings.push(
        `${n} batch${n === 1 ? '' : 'es'} failed in the last ${formatDuration(recent.sinceMs)}: ${recent.failedBatches
          .slice(0, 5)
          .map((b) => `${b.batchId} (${b.errorCode ?? 'no code'})`)
          .join(', ')}${n > 5 ? ', …' : ''}`,
      );
    }
    if (recent && recent.filesFailed > 0) {
      warnings.push(
        `${recent.filesFailed} file${recent.filesFailed === 1 ? '' : 's'} in ${recent.batchesWithFailedFiles} batch${recent.batchesWithFailedFiles === 1 ? '' : 'es'} failed in the last ${formatDuration(recent.sinceMs)}`,
      );
    }

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

    const forecast =
      pace && fleet
        ? forecastNoon({
            backlog: pace[0],
            throughput: pace[1],
            liveHosts: fleet.hosts.filter((h) => h.alive && h.processes).map((h) => h.hostId),
            now: new Date(started),
            throughputWindowMs: settings.throughputWindowMs,
          })
        : null;
    const noonWarning = forecast && forecastWarning(forecast, settings);
    if (noonWarning) warnings.push(noonWarning);

    return {
      status: problems.length > 0 ? 'unhealthy' : warnings.length > 0 ? 'degraded' : 'healthy',
      problems,
      warnings,
      checkedAt: new Date(started).toISOString(),
      durationMs: Date.now() - started,
      dependencies: { redis, postgres, s3 },
      queues: fleet?.queues ?? null,
      hosts: fleet?.hosts ?? null,
      stuckBatches: stuck
        ? { olderThanMs: settings.stuckAfterMs, count: stuck.length, batches: stuck }
        : null,
      noonTarget: noon,
      noonForecast: forecast,
      recentFailures: recent,
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
          processes: false,
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
      host.processes ||= beat.queues.some((q) => parseHostQueueName(q)?.kind === 'transcribe');
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

function forecastWarning(f: NoonForecast, settings: HealthSettings): string | null {
  const due = `${f.filesRemaining} files of ${f.batchesRemaining} batch${f.batchesRemaining === 1 ? '' : 'es'} due by ${settings.noon.deadline} ${settings.noon.timeZone}`;
  if (f.state === 'unknown') {
    return `noon forecast: ${due}, and ${f.hosts.length === 0 ? 'no live processing host' : `no files recorded by a live host in the last ${formatDuration(f.throughputWindowMs)}`}`;
  }
  if (f.state === 'at_risk') {
    return `noon forecast: ${due} are projected ready at ${f.projectedReadyAt!.toISOString()}, ${formatDuration(-f.marginSeconds! * 1000)} after the deadline, at ${f.filesPerSecond!.toFixed(2)} files/s from ${f.hosts.length} host${f.hosts.length === 1 ? '' : 's'}`;
  }
  return null;
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
