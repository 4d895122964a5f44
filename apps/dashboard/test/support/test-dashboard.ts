import crypto from 'node:crypto';
import type { Express } from 'express';
import request from 'supertest';
import { expect } from '@jest/globals';
import { createDb, ReviewerRepository, type Db, type RaRole } from '@audio/db';
import { createTestDatabase, type TestDatabase } from '@audio/db/testing';
import { createLogger } from '@audio/logger';
import { PipelineMetrics } from '@audio/metrics';
import { createRedisConnection, type RedisClient } from '@audio/queues';
import { ObjectStore, readStorageConfig } from '@audio/storage';
import type { UserAccounts } from '../../src/index.js';
import {
  createDashboardApp,
  QueueRegistry,
  readDashboardConfig,
  waitForRedis,
  type DashboardConfig,
  type HealthChecker,
} from '../../src/index.js';

export interface TestDashboard {
  app: Express;
  config: DashboardConfig;
  db: Db;
  database: TestDatabase;
  redis: RedisClient;
  redisUrl: string;
  prefix: string;
  queues: QueueRegistry;
  store: ObjectStore;
  accounts: UserAccounts;
  health: HealthChecker;
  /** Env for CLIs and other apps pointed at the same servers, database and prefix. */
  env: NodeJS.ProcessEnv;
  close(): Promise<void>;
}

export const PASSWORD = 'correct horse battery staple';

/**
 * The real app on real servers: Redis (a unique QUEUE_PREFIX per instance), a fresh Postgres database,
 * the global setup's S3. `redisUrl` and `database` may be shared between instances.
 */
export async function createTestDashboard(
  options: { env?: NodeJS.ProcessEnv; redisUrl?: string; database?: TestDatabase } = {},
): Promise<TestDashboard> {
  const redisUrl = options.redisUrl ?? process.env.REDIS_URL!;
  const prefix = `{dash-${crypto.randomBytes(4).toString('hex')}}`;
  const database = options.database ?? (await createTestDatabase());
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    REDIS_URL: redisUrl,
    QUEUE_PREFIX: prefix,
    DATABASE_URL: database.databaseUrl,
    HEALTH_CHECK_TIMEOUT: '30s', // healthy checks on a loaded machine must not time out
    ...options.env,
  };
  const config = readDashboardConfig(env);
  const db = createDb({ databaseUrl: database.databaseUrl, poolSize: 4, connectionTimeoutMs: 60_000 });
  const redis = createRedisConnection({ url: redisUrl, prefix }, 'producer', 'dashboard-test');
  redis.on('error', () => undefined);
  await waitForRedis(redis, 120_000);
  const store = ObjectStore.fromConfig(readStorageConfig(env));
  const queues = new QueueRegistry(redis, prefix);
  const metrics = new PipelineMetrics({ processMetrics: false });
  const logger = createLogger({ name: 'dashboard-test', level: process.env.LOG_LEVEL ?? 'silent' });
  const { app, accounts, health } = createDashboardApp({ config, db, redis, queues, store, metrics, logger });
  return {
    app,
    config,
    db,
    database,
    redis,
    redisUrl,
    prefix,
    queues,
    store,
    accounts,
    health,
    env,
    async close() {
      await queues.close();
      redis.disconnect();
      store.destroy();
      await db.close();
      if (!options.database) await database.drop();
    },
  };
}

export async function createUser(dashboard: TestDashboard, username: string, role: RaRole): Promise<string> {
  const user = await dashboard.accounts.create(username, PASSWORD, role);
  return user.id;
}

/** The CSRF token of the page's forms. */
export function csrfTokenOf(page: string): string {
  const match = /name="_csrf" value="([^"]+)"/.exec(page);
  if (!match) throw new Error(`no CSRF token in the page: ${page.slice(0, 300)}`);
  return match[1]!;
}

/** A cookie-keeping client, logged in as the user (on the app, or on a running server's URL). */
export async function loginAs(target: Express | string, username: string, password = PASSWORD) {
  const agent = request.agent(target);
  const page = await agent.get('/login').expect(200);
  const response = await agent
    .post('/login')
    .type('form')
    .send({ username, password, _csrf: csrfTokenOf(page.text) });
  expect(response.status).toBe(303);
  return agent;
}

/** Only for seeding: the repository directly. */
export function reviewers(dashboard: TestDashboard): ReviewerRepository {
  return new ReviewerRepository(dashboard.db);
}
