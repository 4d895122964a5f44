export { PipelineMetrics, type PipelineMetricsOptions } from './pipeline-metrics.js';
export { serveMetrics, type MetricsServer } from './metrics-server.js';
export { readMetricsConfig, type MetricsConfig } from './metrics-config.js';
export { METRIC_NAMES } from './metric-names.js';
export { queueKind } from './queue-kind.js';
export { startProcessMetrics, type ProcessMetrics } from './process-metrics.js';
