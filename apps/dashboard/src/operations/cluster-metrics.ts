import { Gauge, type Registry } from 'prom-client';
import type { FailureReasonCount, MonitoringQueries, StatusCount } from '@audio/db';
import type { HealthChecker, HealthReport, WorkerStatus } from './health-check.js';

interface Snapshot {
  health: HealthReport;
  failures: FailureReasonCount[] | null;
  batches: StatusCount[] | null;
}

/** Gauges of one scrape share one snapshot; a second scrape within this window reuses it. */
const SNAPSHOT_TTL_MS = 1000;

/**
 * The dashboard's cluster-wide gauges, computed from Redis and Postgres when Prometheus scrapes
 * (`collect`), never in the background: queue depths of every known queue, per-host scratch and
 * heartbeats, batches by status, stuck batches, failures by reason over 24 h, the noon target.
 * A source that cannot be read leaves its series out and sets `audio_dependency_up` to 0.
 */
export function registerClusterMetrics(
  registry: Registry,
  sources: { health: HealthChecker; monitoring: MonitoringQueries },
): void {
  let cached: { at: number; snapshot: Promise<Snapshot> } | undefined;
  const snapshot = (): Promise<Snapshot> => {
    if (!cached || Date.now() - cached.at > SNAPSHOT_TTL_MS) {
      cached = {
        at: Date.now(),
        snapshot: (async () => {
          const health = await sources.health.check();
          const postgresUp = health.dependencies.postgres.ok;
          const [failures, batches] = await Promise.all([
            postgresUp ? sources.monitoring.failuresByReason().catch(() => null) : null,
            postgresUp ? sources.monitoring.batchesByStatus().catch(() => null) : null,
          ]);
          return { health, failures, batches };
        })(),
      };
    }
    return cached.snapshot;
  };

  const gauge = <L extends string>(
    name: string,
    help: string,
    labelNames: readonly L[],
    fill: (g: Gauge<L>, s: Snapshot) => void,
  ) =>
    new Gauge<L>({
      name,
      help,
      labelNames,
      registers: [registry],
      async collect() {
        const s = await snapshot();
        this.reset();
        fill(this, s);
      },
    });

  gauge('audio_health_status', '1 when /health reports healthy, 0 otherwise', [], (g, s) =>
    g.set(s.health.status === 'healthy' ? 1 : 0),
  );
  gauge(
    'audio_dependency_up',
    'Whether the dashboard reached the dependency (1) or not (0)',
    ['dependency'],
    (g, s) => {
      for (const [dependency, status] of Object.entries(s.health.dependencies))
        g.set({ dependency }, status.ok ? 1 : 0);
    },
  );
  gauge('audio_dependency_latency_seconds', 'Round trip of the health probe', ['dependency'], (g, s) => {
    for (const [dependency, status] of Object.entries(s.health.dependencies)) {
      if (status.ok) g.set({ dependency }, status.latencyMs / 1000);
    }
  });
  gauge('audio_queue_jobs', 'Jobs per queue and state', ['queue', 'queue_kind', 'host', 'state'], (g, s) => {
    for (const q of s.health.queues ?? []) {
      const labels = { queue: q.name, queue_kind: q.kind, host: q.hostId ?? '' };
      g.set({ ...labels, state: 'waiting' }, q.waiting);
      g.set({ ...labels, state: 'active' }, q.active);
      g.set({ ...labels, state: 'delayed' }, q.delayed);
      g.set({ ...labels, state: 'prioritized' }, q.prioritized);
      g.set({ ...labels, state: 'waiting-children' }, q.waitingChildren);
      g.set({ ...labels, state: 'failed' }, q.failed);
      g.set({ ...labels, state: 'completed' }, q.completed);
    }
  });
  gauge('audio_host_up', 'Whether a host that owns queues has a live heartbeat', ['host'], (g, s) => {
    for (const h of s.health.hosts ?? []) g.set({ host: h.hostId }, h.alive ? 1 : 0);
  });
  gauge(
    'audio_host_free_scratch_bytes',
    'Free scratch space a host reports in its heartbeat',
    ['host'],
    (g, s) => {
      for (const h of s.health.hosts ?? [])
        if (h.freeScratchBytes !== null) g.set({ host: h.hostId }, h.freeScratchBytes);
    },
  );
  // One series per worker process (host and app), read from its heartbeat.
  const workerGauge = (name: string, help: string, value: (w: WorkerStatus) => number) =>
    gauge(name, help, ['host', 'app'], (g, s) => {
      for (const h of s.health.hosts ?? [])
        for (const w of h.workers) g.set({ host: h.hostId, app: w.app }, value(w));
    });
  workerGauge(
    'audio_worker_active_jobs',
    'Jobs a worker process is running, from its heartbeat',
    (w) => w.activeJobs,
  );
  workerGauge(
    'audio_worker_heartbeat_age_seconds',
    "Age of a worker process's last heartbeat",
    (w) => w.ageSeconds,
  );
  // An info metric: 1 per model version a host's processes have loaded; a fleet on mixed versions
  // shows as more than one version per model (`count by (model) (count by (model, version) (…)) > 1`).
  gauge(
    'audio_host_model_info',
    'Model versions the processes of a host report in their heartbeats (value 1)',
    ['host', 'model', 'version'],
    (g, s) => {
      for (const h of s.health.hosts ?? [])
        for (const w of h.workers)
          for (const [model, version] of Object.entries(w.models ?? {}))
            g.set({ host: h.hostId, model, version }, 1);
    },
  );
  gauge('audio_batches', 'Batches by status', ['status'], (g, s) => {
    for (const b of s.batches ?? []) g.set({ status: b.status }, b.batches);
  });
  gauge(
    'audio_stuck_batches',
    'Batches neither complete nor failed longer than STUCK_BATCH_AFTER',
    [],
    (g, s) => {
      if (s.health.stuckBatches) g.set(s.health.stuckBatches.count);
    },
  );
  gauge(
    'audio_failures_last_24h',
    'Processing failures recorded in the last 24 h, by stage and reason',
    ['stage', 'reason'],
    (g, s) => {
      for (const f of s.failures ?? []) g.set({ stage: f.stage, reason: f.reasonCode }, f.failures);
    },
  );
  gauge(
    'audio_noon_target_met',
    '1 while every batch due today is complete by the deadline (so far), 0 when not',
    [],
    (g, s) => {
      if (s.health.noonTarget) g.set(s.health.noonTarget.met ? 1 : 0);
    },
  );
  gauge(
    'audio_noon_batches_due',
    "Batches transferred before today's cutoff (the noon target's scope)",
    [],
    (g, s) => {
      if (s.health.noonTarget) g.set(s.health.noonTarget.batchesDue);
    },
  );
  gauge('audio_noon_batches_late', 'Due batches not complete (by the deadline, or so far)', [], (g, s) => {
    if (s.health.noonTarget) g.set(s.health.noonTarget.lateBatchIds.length);
  });
  gauge('audio_review_queue_items', 'Flagged items waiting in the review queue', [], (g, s) => {
    if (s.health.noonTarget) g.set(s.health.noonTarget.flaggedWaiting);
  });
}
