import type { Job, Worker } from 'bullmq';
import { collectDefaultMetrics, Counter, Histogram, Registry } from 'prom-client';
import { decodeFailure } from '@audio/queues';
import type { StorageMetrics } from '@audio/storage';
import { METRIC_NAMES } from './metric-names.js';
import { queueKind } from './queue-kind.js';

export interface PipelineMetricsOptions {
  /** Default: a new registry of its own (never prom-client's global one, so tests stay independent). */
  registry?: Registry;
  /** Labels on every series, e.g. `{ app: 'gpu', host: 'gpu-1' }`; Prometheus adds `instance` itself. */
  defaultLabels?: Record<string, string>;
  /** Node.js process metrics (CPU, memory, event loop lag, GC). Default true. */
  processMetrics?: boolean;
}

/** Seconds; jobs range from a sub-second finalize to a long transcription. */
const JOB_BUCKETS = [0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600];
const SIDECAR_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300];
const ITEM_BUCKETS = [1, 2, 4, 8, 16, 32, 64, 128];

/**
 * One worker process's metrics over a prom-client registry: job durations, failures by reason, S3
 * traffic and errors, sidecar latency. Serve them with `serveMetrics(metrics.registry, port)`;
 * Prometheus scrapes every worker process (see the README).
 */
export class PipelineMetrics {
  readonly registry: Registry;
  /** Pass to `ObjectStore` (`{ metrics: pipelineMetrics.storage }`). */
  readonly storage: StorageMetrics;
  private readonly jobDuration: Histogram<'queue_kind' | 'outcome'>;
  private readonly jobFailures: Counter<'queue_kind' | 'reason'>;
  private readonly failures: Counter<'stage' | 'reason'>;
  private readonly deadHostReplays: Counter<'dead_host'>;
  private readonly sidecarSeconds: Histogram;
  private readonly sidecarItems: Histogram;

  constructor(options: PipelineMetricsOptions = {}) {
    this.registry = options.registry ?? new Registry();
    if (options.defaultLabels) this.registry.setDefaultLabels(options.defaultLabels);
    if (options.processMetrics ?? true) collectDefaultMetrics({ register: this.registry });
    const registers = [this.registry];
    this.jobDuration = new Histogram({
      name: METRIC_NAMES.jobDuration,
      help: 'Job attempts by queue kind and outcome (completed, failed for good, retrying), processedOn to finishedOn',
      labelNames: ['queue_kind', 'outcome'],
      buckets: JOB_BUCKETS,
      registers,
    });
    this.jobFailures = new Counter({
      name: METRIC_NAMES.jobFailures,
      help: 'Jobs that failed for good (no attempts left or unrecoverable), by queue kind and reason code',
      labelNames: ['queue_kind', 'reason'],
      registers,
    });
    this.failures = new Counter({
      name: METRIC_NAMES.failures,
      help: 'Processing failures recorded for files or batches, by stage and reason code',
      labelNames: ['stage', 'reason'],
      registers,
    });
    const s3Bytes = new Counter({
      name: METRIC_NAMES.s3Bytes,
      help: 'Bytes moved to (up) or from (down) S3',
      labelNames: ['direction'],
      registers,
    });
    const s3Errors = new Counter({
      name: METRIC_NAMES.s3Errors,
      help: 'S3 operations that failed after retries, by operation',
      labelNames: ['operation'],
      registers,
    });
    this.deadHostReplays = new Counter({
      name: METRIC_NAMES.deadHostReplays,
      help: 'Batches of a host silent past the grace period (DEAD_HOST_GRACE) that this process replayed on a live host',
      labelNames: ['dead_host'],
      registers,
    });
    this.sidecarSeconds = new Histogram({
      name: METRIC_NAMES.sidecarRequest,
      help: 'Sidecar requests (one batch of files) from send to reply',
      buckets: SIDECAR_BUCKETS,
      registers,
    });
    this.sidecarItems = new Histogram({
      name: METRIC_NAMES.sidecarRequestItems,
      help: 'Files per sidecar request',
      buckets: ITEM_BUCKETS,
      registers,
    });
    this.storage = {
      bytes: (direction, n) => {
        if (n > 0) s3Bytes.inc({ direction }, n);
      },
      error: (operation) => s3Errors.inc({ operation }),
    };
  }

  /**
   * Times every job attempt of the worker from its `completed` and `failed` events (BullMQ's own
   * processedOn/finishedOn, so the numbers match Bull Board). Returns a function that detaches it.
   */
  instrumentWorker(worker: Worker): () => void {
    const kind = queueKind(worker.name);
    const onCompleted = (job: Job) => this.observeJob(kind, 'completed', job);
    const onFailed = (job: Job | undefined, error: Error) => {
      if (!job) return;
      // BullMQ sets finishedOn only when the job fails for good; a retried attempt has none.
      const final = job.finishedOn !== undefined;
      this.observeJob(kind, final ? 'failed' : 'retrying', job);
      if (final) this.jobFailures.inc({ queue_kind: kind, reason: decodeFailure(error.message).code });
    };
    worker.on('completed', onCompleted);
    worker.on('failed', onFailed);
    return () => {
      worker.off('completed', onCompleted);
      worker.off('failed', onFailed);
    };
  }

  /** A failure recorded for a file or batch (what `FailureRepository.record` writes). */
  countFailure(stage: string, reasonCode: string): void {
    this.failures.inc({ stage, reason: reasonCode });
  }

  /** The dead-host detector queued a replay of one of `deadHost`'s batches. */
  countDeadHostReplay(deadHost: string): void {
    this.deadHostReplays.inc({ dead_host: deadHost });
  }

  /** One sidecar request: its latency in milliseconds and the number of files it carried. */
  observeSidecarRequest(ms: number, items: number): void {
    if (!Number.isFinite(ms) || ms < 0) return;
    this.sidecarSeconds.observe(ms / 1000);
    if (Number.isFinite(items) && items >= 0) this.sidecarItems.observe(items);
  }

  private observeJob(kind: string, outcome: 'completed' | 'failed' | 'retrying', job: Job): void {
    if (job.processedOn === undefined) return;
    const end = job.finishedOn ?? Date.now();
    const seconds = Math.max(0, end - job.processedOn) / 1000;
    this.jobDuration.observe({ queue_kind: kind, outcome }, seconds);
  }
}
