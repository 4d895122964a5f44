import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { createRedisConnection, readRedisConfig, scanKeys } from '@audio/queues';
import { migrateDeploy, MIGRATIONS_DIR } from '@audio/db/testing';
import {
  describeServices,
  ensureServices,
  LOCAL_DATA_DIR,
  readState,
  type Services,
} from '@audio/local-services';

export interface DemoEnvironment {
  env: NodeJS.ProcessEnv;
  /** The services this run started itself; undefined when it used those of a running `pnpm services up`. */
  services?: Services;
  /** Stops what was started for this run and drops its throw-away database; the rest is left alone. */
  close(): Promise<void>;
}

/**
 * `demo`: one run that leaves nothing behind: its own queue prefix, and when it had to start its own S3
 * server (whose objects vanish with it), a database of its own that is dropped at the end.
 * `dev`: data that lasts: a started S3 server keeps its objects in `.local-services/data`, beside a
 * database named after that folder, so the database never points at objects that are gone.
 */
export type EnvironmentPurpose = 'demo' | 'dev';

/** The long-lived database when the S3 server was configured (its objects outlive us too). */
const SHARED_DATABASE = 'audio_pipeline';

/**
 * Everything the pipeline needs, on embedded defaults: the services of a running `pnpm services up`, or
 * the configured ones when they answer, or local ones; a migrated database chosen so that its rows and
 * the S3 objects they name live and die together (see EnvironmentPurpose); scratch under the temp
 * directory; the sidecar's `fixture` backend (a named test double) unless another backend is configured.
 */
export async function prepareDemoEnvironment(options: {
  baseEnv?: NodeJS.ProcessEnv;
  log: (line: string) => void;
  purpose: EnvironmentPurpose;
}): Promise<DemoEnvironment> {
  const base = options.baseEnv ?? process.env;
  const supervisor = configuresNothing(base) ? readState() : undefined;
  const services = supervisor
    ? undefined
    : await ensureServices({
        env: base,
        log: options.log,
        ...(options.purpose === 'dev' ? { s3DataDir: path.join(LOCAL_DATA_DIR, 's3') } : {}),
      });
  const cleanups: (() => Promise<void>)[] = [async () => services?.stop()];
  const close = async () => {
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
  };
  try {
    const found = supervisor ?? services!;
    options.log(
      `services${supervisor ? ` (of pnpm services up, pid ${supervisor.pid})` : ''}:\n${describeServices(found.reports)}`,
    );
    const env: NodeJS.ProcessEnv = { ...base, ...found.env };
    if (!base.DATABASE_URL && !base.POSTGRES_HOST) {
      const s3Started = found.reports.some((r) => r.name === 's3' && r.origin === 'started');
      const keptS3 = supervisor?.s3DataDir ?? services?.s3DataDir;
      let name = SHARED_DATABASE;
      if (keptS3) name = `audio_dev_${localDataId(keptS3)}`;
      else if (s3Started) name = `audio_demo_${crypto.randomBytes(4).toString('hex')}`;
      env.DATABASE_URL = await ensureDatabase(found.env.DATABASE_URL!, name);
      if (s3Started && !keptS3) {
        // Its objects go with the S3 server this run started: so do its rows.
        const server = found.env.DATABASE_URL!;
        cleanups.push(() => dropDatabase(server, name));
        options.log(`database ${name} (for this run only: the S3 server it started keeps nothing)`);
      } else {
        options.log(`database ${name}`);
      }
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
    if (options.purpose === 'demo' && !base.QUEUE_PREFIX) {
      // On a Redis shared with `pnpm dev` or another demo, their workers would otherwise take our jobs.
      env.QUEUE_PREFIX = `{demo-${crypto.randomBytes(4).toString('hex')}}`;
      cleanups.push(() => removeQueueKeys(env));
    }
    return { env, ...(services ? { services } : {}), close };
  } catch (error) {
    await close();
    throw error;
  }
}

/** None of the service variables is set: a running `pnpm services up` is what the user means. */
function configuresNothing(env: NodeJS.ProcessEnv): boolean {
  return !['REDIS_URL', 'REDIS_HOST', 'DATABASE_URL', 'POSTGRES_HOST', 'S3_ENDPOINT'].some((k) => env[k]);
}

/** The id of a kept data folder (made on first use): it names the database that goes with it. */
export function localDataId(dir: string): string {
  const file = path.join(dir, 'data-id');
  try {
    return fs.readFileSync(file, 'utf8').trim();
  } catch {
    const id = crypto.randomBytes(4).toString('hex');
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(file, `${id}\n`);
    return id;
  }
}

/** The URL of `name` on the server of `serverUrl`, creating the database when it is missing. */
export async function ensureDatabase(serverUrl: string, name: string): Promise<string> {
  await withClient(serverUrl, async (client) => {
    const exists = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (exists.rowCount === 0) await client.query(`CREATE DATABASE "${name}"`);
  });
  return databaseUrl(serverUrl, name);
}

export async function dropDatabase(serverUrl: string, name: string): Promise<void> {
  await withClient(serverUrl, (client) => client.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`));
}

function databaseUrl(serverUrl: string, name: string): string {
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return url.toString();
}

async function withClient<T>(url: string, work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

/** Whether some migration folder has no finished row in `_prisma_migrations` (migrate deploy takes ~12 s). */
async function hasPendingMigrations(url: string): Promise<boolean> {
  const wanted = fs.readdirSync(MIGRATIONS_DIR, { withFileTypes: true }).filter((d) => d.isDirectory());
  try {
    const applied = await withClient(url, (client) =>
      client.query<{ migration_name: string }>(
        'SELECT migration_name FROM _prisma_migrations WHERE finished_at IS NOT NULL AND rolled_back_at IS NULL',
      ),
    );
    const done = new Set(applied.rows.map((r) => r.migration_name));
    return wanted.some((d) => !done.has(d.name));
  } catch {
    return true; // no _prisma_migrations table yet
  }
}

/** Deletes every key under the run's queue prefix (SCAN, never KEYS, on a Redis others may use). */
export async function removeQueueKeys(env: NodeJS.ProcessEnv): Promise<void> {
  const config = readRedisConfig(env);
  // A worker connection waits for Redis to be ready (a producer's would fail its first command).
  const redis = createRedisConnection(config, 'worker', 'demo-cleanup');
  const giveUp = setTimeout(() => redis.disconnect(), 10_000);
  try {
    await scanKeys(redis, `${config.prefix}:*`, async (keys) => {
      await redis.unlink(...keys);
    });
  } finally {
    clearTimeout(giveUp);
    redis.disconnect();
  }
}
