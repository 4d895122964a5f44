import type { AddressInfo } from 'node:net';
import { describeListenError } from '@audio/config';
import { createDb, readDbConfig } from '@audio/db';
import { createLogger, redactUrl, type Logger } from '@audio/logger';
import { PipelineMetrics } from '@audio/metrics';
import { createRedisConnection, readRedisConfig } from '@audio/queues';
import { ObjectStore, readStorageConfig } from '@audio/storage';
import { createDashboardApp } from './dashboard-app.js';
import { readDashboardConfig } from './dashboard-config.js';
import { QueueRegistry } from './queue-registry.js';
import { waitForRedis } from './redis-ready.js';

export interface StartDashboardOptions {
  env?: NodeJS.ProcessEnv;
  logger?: Logger;
  /** Overrides DASHBOARD_PORT (0: a free port). */
  port?: number;
}

export interface RunningDashboard {
  url: string;
  port: number;
  close(): Promise<void>;
}

/**
 * Starts the dashboard from the environment: connections, queue discovery, the first admin
 * (DASHBOARD_ADMIN_USER/PASSWORD, when no admin exists), the HTTP server.
 */
export async function startDashboard(options: StartDashboardOptions = {}): Promise<RunningDashboard> {
  const env = options.env ?? process.env;
  const logger = options.logger ?? createLogger({ name: 'dashboard' });
  const config = readDashboardConfig(env);
  if (options.port !== undefined) config.port = options.port;
  const redisConfig = readRedisConfig(env);
  const dbConfig = readDbConfig(env);
  const storageConfig = readStorageConfig(env);
  if (config.sessionSecretGenerated) {
    logger.warn('SESSION_SECRET is not set: using a random one, so sessions end when the dashboard restarts');
  }
  if (!config.metricsToken) {
    logger.info(
      'METRICS_TOKEN is not set: /health and /metrics are open (keep the dashboard on a private network)',
    );
  }

  const redis = createRedisConnection(redisConfig, 'producer', 'dashboard');
  redis.on('error', (error) => logger.debug({ err: error.message }, 'redis connection error'));
  const db = createDb(dbConfig);
  const metrics = new PipelineMetrics({ defaultLabels: { app: 'dashboard' } });
  const store = ObjectStore.fromConfig(storageConfig, { logger, metrics: metrics.storage });
  const queues = new QueueRegistry(redis, redisConfig.prefix, logger);

  if (await waitForRedis(redis, 5_000)) {
    await queues
      .discover({ scanKeys: true })
      .catch((error: unknown) => logger.warn({ err: String(error) }, 'queue discovery failed'));
  } else {
    logger.error({ redis: redactUrl(redisConfig.url) }, 'Redis is not reachable; starting anyway');
  }
  queues.start(config.queueDiscoveryIntervalMs);

  const { app, accounts } = createDashboardApp({ config, db, redis, queues, store, metrics, logger });
  if (config.firstAdmin) {
    try {
      const outcome = await accounts.ensureFirstAdmin(config.firstAdmin);
      if (outcome === 'created') logger.info({ username: config.firstAdmin.username }, 'first admin created');
      if (outcome === 'username-taken') {
        logger.warn(
          { username: config.firstAdmin.username },
          'no admin exists and DASHBOARD_ADMIN_USER names an existing non-admin account: left unchanged (use the users CLI)',
        );
      }
    } catch (error) {
      logger.error({ err: error }, 'could not create the first admin (is Postgres reachable?)');
    }
  }

  const server = app.listen(config.port, config.host);
  await new Promise<void>((resolve, reject) => {
    server.once('listening', resolve);
    server.once('error', (error) => reject(describeListenError(error, 'DASHBOARD_PORT', config.port)));
  });
  const port = (server.address() as AddressInfo).port;
  const shownHost = config.host === '0.0.0.0' || config.host === '::' ? '127.0.0.1' : config.host;
  const url = `http://${shownHost.includes(':') ? `[${shownHost}]` : shownHost}:${port}`;
  logger.info({ url, redis: redactUrl(redisConfig.url), prefix: redisConfig.prefix }, 'dashboard listening');

  let closing: Promise<void> | undefined;
  return {
    url,
    port,
    close: () =>
      (closing ??= (async () => {
        await new Promise<void>((resolve) => {
          server.close(() => resolve());
          server.closeAllConnections();
        });
        await queues.close();
        redis.disconnect();
        store.destroy();
        await db.close();
      })()),
  };
}
