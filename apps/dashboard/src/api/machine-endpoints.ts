import { Router } from 'express';
import type { Registry } from 'prom-client';
import { requireBearerToken } from '../auth/bearer-token.js';
import type { HealthChecker } from '../operations/health-check.js';

/**
 * GET /health (200 healthy, 503 not) and GET /metrics (Prometheus) for machines: no session, an
 * optional bearer token (METRICS_TOKEN).
 */
export function createMachineEndpoints(options: {
  health: HealthChecker;
  registry: Registry;
  token: string | null;
}): Router {
  const router = Router();
  const machine = requireBearerToken(options.token);
  router.get('/health', machine, async (_req, res) => {
    const report = await options.health.check();
    res.status(report.status === 'unhealthy' ? 503 : 200).json(report);
  });
  router.get('/metrics', machine, async (_req, res) => {
    res.type(options.registry.contentType).send(await options.registry.metrics());
  });
  return router;
}
