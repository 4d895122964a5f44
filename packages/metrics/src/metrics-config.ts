import { z } from 'zod';
import { envVar, integerFromEnv, readEnv } from '@audio/config';

const metricsEnv = z
  .object({
    METRICS_PORT: envVar(integerFromEnv(1, 65535).optional(), '9464'),
    METRICS_HOST: envVar(z.string().min(1).default('0.0.0.0'), '0.0.0.0'),
  })
  .transform((e) => ({
    /** Port of the worker's /metrics endpoint; null when METRICS_PORT is unset (no endpoint). */
    port: e.METRICS_PORT ?? null,
    /** Interface it listens on: all of them by default, since Prometheus scrapes from another host. */
    host: e.METRICS_HOST,
  }));

export type MetricsConfig = z.output<typeof metricsEnv>;

/** METRICS_PORT (unset: no metrics endpoint) and METRICS_HOST (default 0.0.0.0). */
export function readMetricsConfig(env: NodeJS.ProcessEnv = process.env): MetricsConfig {
  return readEnv(metricsEnv, env);
}
