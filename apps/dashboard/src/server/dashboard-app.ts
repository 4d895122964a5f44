import express, { type ErrorRequestHandler } from 'express';
import type { RedisClient } from '@audio/queues';
import { MonitoringQueries, ReviewerRepository, type Db } from '@audio/db';
import type { Logger } from '@audio/logger';
import type { PipelineMetrics } from '@audio/metrics';
import type { ObjectStore } from '@audio/storage';
import { createBatchApi } from '../api/batch-api.js';
import { createMachineEndpoints } from '../api/machine-endpoints.js';
import { loadCurrentUser } from '../auth/access-control.js';
import { BatchOverview } from '../operations/batch-overview.js';
import { createBatchActions } from '../operations/batch-actions.js';
import { createBatchPages } from '../operations/batch-pages.js';
import { createFilePage } from '../operations/file-page.js';
import { BOARD_PATH, createBullBoardRouter } from '../operations/bull-board-router.js';
import { registerClusterMetrics } from '../operations/cluster-metrics.js';
import { createCsrfProtection } from '../auth/csrf-protection.js';
import type { DashboardConfig } from './dashboard-config.js';
import { HealthChecker } from '../operations/health-check.js';
import { createLoginRoutes } from '../auth/login-routes.js';
import type { QueueRegistry } from '../operations/queue-registry.js';
import { createResearchRoutes } from '../research/research-routes.js';
import { createReviewRoutes } from '../review/review-routes.js';
import { homePath } from '../auth/roles.js';
import { createSessionMiddleware } from '../auth/session-middleware.js';
import { createStatusPage } from '../operations/status-page.js';
import { errorPage } from '../views/page-layout.js';
import { UserAccounts } from '../auth/user-accounts.js';

export interface DashboardDeps {
  config: DashboardConfig;
  db: Db;
  /** A producer-style connection (no offline queue): sessions, heartbeats, health checks. */
  redis: RedisClient;
  queues: QueueRegistry;
  store: ObjectStore;
  /** Its registry gets the cluster gauges; /metrics serves it. */
  metrics: PipelineMetrics;
  logger: Logger;
}

export interface DashboardApp {
  app: express.Express;
  health: HealthChecker;
  accounts: UserAccounts;
}

// Our pages load nothing from elsewhere except the presigned audio URL (S3's host).
const PAGE_CSP =
  "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; media-src 'self' http: https:; " +
  "form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/**
 * The dashboard as an Express app, on ready-made connections (tests build it on real servers).
 * Routes: /health and /metrics (bearer token optional, no session); /login, /logout; /batches and
 * /api/batches; /files/:id (a file with its jobs and labels); /status; /review; /board (Bull Board).
 */
export function createDashboardApp(deps: DashboardDeps): DashboardApp {
  const { config, logger } = deps;
  const app = express();
  app.set('trust proxy', config.trustProxy);
  app.disable('x-powered-by');
  app.use((_req, res, next) => {
    res.set({
      'X-Content-Type-Options': 'nosniff',
      'Referrer-Policy': 'same-origin',
      'X-Frame-Options': 'DENY',
    });
    next();
  });

  const health = new HealthChecker({
    redis: deps.redis,
    prefix: deps.queues.prefix,
    db: deps.db,
    store: deps.store,
    queues: deps.queues,
    settings: config.health,
  });
  registerClusterMetrics(
    deps.metrics.registry,
    { health, monitoring: new MonitoringQueries(deps.db) },
    config.health.minFreeScratchBytes,
  );

  // Machine endpoints first: they must answer while Redis (which holds the sessions) is down.
  app.use(createMachineEndpoints({ health, registry: deps.metrics.registry, token: config.metricsToken }));

  const users = new ReviewerRepository(deps.db);
  const accounts = new UserAccounts(users);
  const csrf = createCsrfProtection();
  app.use(
    createSessionMiddleware({
      redis: deps.redis,
      prefix: deps.queues.prefix,
      secret: config.sessionSecret,
      ttlMs: config.sessionTtlMs,
    }),
  );
  app.use(loadCurrentUser(users));

  // Bull Board brings its own JSON parser and front-end; its writes are checked by origin, not token.
  app.use(BOARD_PATH, createBullBoardRouter(deps.queues));

  app.use(express.urlencoded({ extended: false, limit: '64kb' }));
  app.use((req, res, next) => {
    if (req.accepts('html')) res.set('Content-Security-Policy', PAGE_CSP);
    next();
  });
  app.use(
    createLoginRoutes({
      accounts,
      csrf,
      rateLimit: config.loginRateLimit,
      rateWindowMs: config.loginRateWindowMs,
      logger,
    }),
  );
  app.get('/', (_req, res) => {
    const user = res.locals.user;
    res.redirect(302, user ? homePath(user.role) : '/login');
  });
  const overview = new BatchOverview(deps.db, deps.queues);
  app.use(createBatchApi(overview));
  app.use(createBatchActions({ db: deps.db, store: deps.store, queues: deps.queues, csrf, logger }));
  app.use(createBatchPages(overview, csrf));
  app.use(
    createFilePage({
      db: deps.db,
      overview,
      store: deps.store,
      csrf,
      audioUrlTtlSeconds: config.audioUrlTtlSeconds,
      logger,
    }),
  );
  app.use(createStatusPage(health, csrf));
  app.use(
    createReviewRoutes({
      db: deps.db,
      store: deps.store,
      csrf,
      leaseMs: config.reviewLeaseMs,
      audioUrlTtlSeconds: config.audioUrlTtlSeconds,
      timeZone: config.health.noon.timeZone,
      policyFile: config.policyFile,
      logger,
    }),
  );

  app.use(createResearchRoutes({ db: deps.db, csrf }));

  app.use((req, res) => {
    if (req.path.startsWith('/api/')) res.status(404).json({ error: `no route ${req.method} ${req.path}` });
    else
      res
        .status(404)
        .send(errorPage({ status: 404, message: `There is no page at ${req.path}.`, user: res.locals.user }));
  });
  const onError: ErrorRequestHandler = (error: unknown, req, res, _next) => {
    const status = (error as { status?: unknown }).status;
    if (status === 403 && (error as { code?: unknown }).code === 'EBADCSRFTOKEN') {
      res.status(403).send(
        errorPage({
          status: 403,
          message: 'The form was missing its token or it was stale: go back, reload the page and try again.',
          user: res.locals.user,
          back: {
            href: req.get('referer')?.startsWith(`${req.protocol}://${req.get('host')}/`)
              ? req.get('referer')!
              : '/',
            label: 'Back to the form',
          },
        }),
      );
      return;
    }
    logger.error({ err: error, method: req.method, path: req.path }, 'request failed');
    if (res.headersSent) return;
    const message =
      typeof status === 'number' && status < 500 && error instanceof Error ? error.message : 'internal error';
    const code = typeof status === 'number' ? status : 500;
    if (req.path.startsWith('/api/')) res.status(code).json({ error: message });
    else res.status(code).send(errorPage({ status: code, message, user: res.locals.user }));
  };
  app.use(onError);
  return { app, health, accounts };
}
