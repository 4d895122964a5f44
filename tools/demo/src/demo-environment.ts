import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { createRedisConnection, readRedisConfig } from '@audio/queues';
import { migrateDeploy, MIGRATIONS_DIR } from '@audio/db/testing';
import { describeServices, ensureServices, type Services } from '@audio/local-services';

export interface DemoEnvironment {
  env: NodeJS.ProcessEnv;
  services: Services;
  /** Stops what was started for the demo; what was configured is left alone. */
  close(): Promise<void>;
}

const DEMO_DATABASE = 'audio_pipeline';

/**
 * Everything the pipeline needs, on embedded defaults: the configured services when they answer, local
 * ones otherwise; a database of its own with the migrations applied; scratch under the temp directory;
 * the sidecar's `fixture` backend (a named test double) unless another backend is configured.
 */
export async function prepareDemoEnvironment(options: {
  baseEnv?: NodeJS.ProcessEnv;
  log: (line: string) => void;
  /**
   * Queues of this run only (a `{demo-…}` prefix, removed at the end), unless QUEUE_PREFIX is set: on a
   * Redis shared with `pnpm dev` or another demo, their workers would otherwise take this run's jobs.
   */
  privateQueues?: boolean;
}): Promise<DemoEnvironment> {
  const base = options.baseEnv ?? process.env;
  const services = await ensureServices({ env: base, log: options.log });
  try {
    options.log(`services:\n${describeServices(services.reports)}`);
    const env: NodeJS.ProcessEnv = { ...base, ...services.env };
    if (!base.DATABASE_URL && !base.POSTGRES_HOST) {
      // A server found or started for us: use a database of our own on it, not its default one.
      env.DATABASE_URL = await ensureDatabase(services.env.DATABASE_URL!, DEMO_DATABASE);
    }
    if (await hasPendingMigrations(env.DATABASE_URL!)) {
      options.log('applying database migrations (prisma migrate deploy)');
      await migrateDeploy(env.DATABASE_URL!);
    }
    // Local folders instead of the production defaults under /data, which a laptop user cannot write.
    const local = path.join(os.tmpdir(), 'audio-pipeline-demo');
    env.SCRATCH_ROOT ??= path.join(local, 'scratch');
    env.TRANSFER_STATE_DIR ??= path.join(local, 'transfer-state');
    env.TRANSFER_TEMP_DIR ??= path.join(local, 'transfer-tmp');
    for (const dir of [env.SCRATCH_ROOT, env.TRANSFER_STATE_DIR, env.TRANSFER_TEMP_DIR]) {
      fs.mkdirSync(dir, { recursive: true });
    }
    env.SIDECAR_BACKEND ??= 'fixture';
    const ownPrefix = options.privateQueues && !base.QUEUE_PREFIX;
    if (ownPrefix) env.QUEUE_PREFIX = `{demo-${crypto.randomBytes(4).toString('hex')}}`;
    return {
      env,
      services,
      async close() {
        if (ownPrefix) await removeQueueKeys(env).catch(() => undefined);
        await services.stop();
      },
    };
  } catch (error) {
    await services.stop();
    throw error;
  }
}

/** The URL of `name` on the server of `serverUrl`, creating the database when it is missing. */
export async function ensureDatabase(serverUrl: string, name: string): Promise<string> {
  const client = new pg.Client({ connectionString: serverUrl });
  await client.connect();
  try {
    const exists = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (exists.rowCount === 0) await client.query(`CREATE DATABASE "${name}"`);
  } finally {
    await client.end();
  }
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return url.toString();
}

/** Whether some migration folder has no finished row in `_prisma_migrations` (migrate deploy takes ~12 s). */
async function hasPendingMigrations(databaseUrl: string): Promise<boolean> {
  const wanted = fs.readdirSync(MIGRATIONS_DIR, { withFileTypes: true }).filter((d) => d.isDirectory());
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const applied = await client.query<{ migration_name: string }>(
      'SELECT migration_name FROM _prisma_migrations WHERE finished_at IS NOT NULL AND rolled_back_at IS NULL',
    );
    const done = new Set(applied.rows.map((r) => r.migration_name));
    return wanted.some((d) => !done.has(d.name));
  } catch {
    return true; // no _prisma_migrations table yet
  } finally {
    await client.end();
  }
}

/** Deletes every key under the run's queue prefix (SCAN, never KEYS, on a Redis others may use). */
async function removeQueueKeys(env: NodeJS.ProcessEnv): Promise<void> {
  const config = readRedisConfig(env);
  // A worker connection waits for Redis to be ready (a producer's would fail its first command).
  const redis = createRedisConnection(config, 'worker', 'demo-cleanup');
  const { prefix } = config;
  const giveUp = setTimeout(() => redis.disconnect(), 10_000);
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length > 0) await redis.unlink(...keys);
    } while (cursor !== '0');
  } finally {
    clearTimeout(giveUp);
    redis.disconnect();
  }
}
