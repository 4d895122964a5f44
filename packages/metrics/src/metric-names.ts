/**
 * Every series the pipeline exports, in one place so that workers, the dashboard, alert rules and the
 * README agree. Prefix `audio_`; units in the name as Prometheus' naming guide asks.
 */
export const METRIC_NAMES = {
  /** Histogram {queue_kind, outcome}: a job attempt from processedOn to finishedOn (or now, when retried). */
  jobDuration: 'audio_job_duration_seconds',
  /** Counter {queue_kind, reason}: jobs that failed for good, by the reason code in their error. */
  jobFailures: 'audio_job_failures_total',
  /** Counter {stage, reason}: processing failures the workers recorded (processing_failures rows). */
  failures: 'audio_failures_total',
  /** Counter {direction=up|down}: bytes moved to or from S3. */
  s3Bytes: 'audio_s3_bytes_total',
  /** Counter {operation}: failed S3 operations (after the SDK's retries). */
  s3Errors: 'audio_s3_errors_total',
  /** Histogram: one sidecar request (a batch of files) from send to reply. */
  sidecarRequest: 'audio_sidecar_request_seconds',
  /** Counter {dead_host}: batches of a silent host that this process's dead-host detector replayed. */
  deadHostReplays: 'audio_dead_host_replays_total',
  /** Histogram: files per sidecar request. */
  sidecarRequestItems: 'audio_sidecar_request_items',
} as const;
