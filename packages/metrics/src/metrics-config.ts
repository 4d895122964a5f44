import { z } from 'zod';
import { envConfig, fromEnv, integerFromEnv, readEnv } from '@audio/config';

const metricsEnv = envConfig({
  /** Port of the worker's /metrics endpoint; unset: no endpoint. */
  port: fromEnv('METRICS_PORT', integerFromEnv(1, 65535).optional(), '9464'),
  /** Interface it listens on: all of them by default, since Prometheus scrapes from another host. */
  host: fromEnv('METRICS_HOST', z.string().min(1).default('0.0.0.0'), '0.0.0.0'),
}).transform((config) => ({ ...config, port: config.port ?? null }));

export type MetricsConfig = z.output<typeof metricsEnv>;

/** METRICS_PORT (unset: no metrics endpoint) and METRICS_HOST (default 0.0.0.0). */
export function readMetricsConfig(env: NodeJS.ProcessEnv = process.env): MetricsConfig {
  return readEnv(metricsEnv, env);
}
