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
 * heartbeats, batches by status, stuck batches, failures by reason over 24 h, the noon target and
 * its forecast.
 * A source that cannot be read leaves its series out and sets `audio_dependency_up` to 0.
 */
export function registerClusterMetrics(
  registry: Registry,
  sources: { health: HealthChecker; monitoring: MonitoringQueries },
  minFreeScratchBytes: number,
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

  gauge('audio_health_status', '/health: 1 healthy, 0.5 degraded, 0 unhealthy', [], (g, s) =>
    g.set({ healthy: 1, degraded: 0.5, unhealthy: 0 }[s.health.status]),
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
    'audio_host_pending_jobs',
    "Jobs waiting, delayed or active in a host's own queues",
    ['host'],
    (g, s) => {
      for (const h of s.health.hosts ?? []) g.set({ host: h.hostId }, h.pendingJobs);
    },
  );
  gauge(
    'audio_scratch_min_free_bytes',
    'HEALTH_MIN_FREE_SCRATCH: a host reporting less free scratch is unhealthy',
    [],
    (g) => g.set(minFreeScratchBytes),
  );
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
  // The forecast (see noon-forecast.ts); series are left out while it cannot be computed.
  gauge('audio_noon_deadline_timestamp_seconds', "Today's noon deadline, Unix time", [], (g, s) => {
    if (s.health.noonForecast) g.set(s.health.noonForecast.deadlineAt.getTime() / 1000);
  });
  gauge(
    'audio_noon_projected_ready_timestamp_seconds',
    "When today's due files are projected to be all processed, Unix time (absent when unknown)",
    [],
    (g, s) => {
      const at = s.health.noonForecast?.projectedReadyAt;
      if (at) g.set(at.getTime() / 1000);
    },
  );
  gauge(
    'audio_noon_projected_miss',
    '1 when the noon forecast passes the deadline (at risk, unknown with files due, or missed), else 0',
    [],
    (g, s) => {
      const f = s.health.noonForecast;
      if (f) g.set(['at_risk', 'unknown', 'missed'].includes(f.state) ? 1 : 0);
    },
  );
  gauge(
    'audio_noon_backlog_files',
    "Files of today's due batches still to process (estimated for archives not unpacked yet)",
    [],
    (g, s) => {
      if (s.health.noonForecast) g.set(s.health.noonForecast.filesRemaining);
    },
  );
  gauge(
    'audio_host_throughput_files_per_second',
    "A live processing host's rate the noon forecast counts (measured, or the mean of the measured ones)",
    ['host'],
    (g, s) => {
      for (const h of s.health.noonForecast?.hosts ?? [])
        if (h.filesPerSecond !== null) g.set({ host: h.host }, h.filesPerSecond);
    },
  );
  gauge('audio_review_queue_items', 'Flagged items waiting in the review queue', [], (g, s) => {
    if (s.health.noonTarget) g.set(s.health.noonTarget.flaggedWaiting);
  });
}
