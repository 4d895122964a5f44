import { readMetricsConfig } from './metrics-config.js';
import { serveMetrics } from './metrics-server.js';
import { PipelineMetrics } from './pipeline-metrics.js';

export interface ProcessMetrics {
  metrics: PipelineMetrics;
  /** `http://…/metrics` when METRICS_PORT is set. */
  url?: string;
  close(): Promise<void>;
}

/**
 * A worker process's metrics: labelled with its app and host, served on METRICS_PORT when that is set
 * (Prometheus scrapes each worker process; the dashboard adds the cluster-wide series).
 */
export async function startProcessMetrics(options: {
  app: string;
  hostId: string;
  env?: NodeJS.ProcessEnv;
}): Promise<ProcessMetrics> {
  const metrics = new PipelineMetrics({ defaultLabels: { app: options.app, host: options.hostId } });
  const { port, host } = readMetricsConfig(options.env);
  const server = port === null ? undefined : await serveMetrics(metrics.registry, port, { host });
  return { metrics, url: server?.url, close: async () => server?.close() };
}
