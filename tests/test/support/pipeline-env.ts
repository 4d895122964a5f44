import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createDb, type Db } from '@audio/db';
import { createTestDatabase, type TestDatabase } from '@audio/db/testing';
import { createRedisConnection, readRedisConfig, scanKeys } from '@audio/queues';
import { ObjectStore, readStorageConfig } from '@audio/storage';

/**
 * For a test that kills a worker: its jobs come back within seconds instead of a minute. Still several
 * seconds of lock, and more stalls allowed, so a live worker delayed by load does not lose its jobs.
 */
export const FAST_STALL_RECOVERY = {
  JOB_LOCK_DURATION: '10s',
  STALLED_INTERVAL: '5s',
  MAX_STALLED_COUNT: '10',
} as const;

export interface PipelineTestEnv {
  /** The environment every app of this test gets: its own database, queue prefix, host id and scratch. */
  env: NodeJS.ProcessEnv;
  db: Db;
  store: ObjectStore;
  hostId: string;
  prefix: string;
  scratchRoot: string;
  /** Every file under the scratch root, relative: the hostile-archive test checks nothing leaked. */
  scratchListing(): string[];
  close(): Promise<void>;
}

/**
 * Isolation for one test file on the shared services of the run: a fresh database with the migrations,
 * a Redis key prefix (a Cluster hash tag, as in production) and a host id of its own, a scratch root
 * under the temp directory; the sidecar's fixture backend. Job locks keep production's length: a short
 * lock expires whenever a loaded machine delays its renewal, and the job then runs twice. The tests
 * that kill a worker shorten them for their own processes (`FAST_STALL_RECOVERY`).
 */
export async function createPipelineTestEnv(
  name: string,
  extra: NodeJS.ProcessEnv = {},
): Promise<PipelineTestEnv> {
  const id = crypto.randomBytes(3).toString('hex');
  const database: TestDatabase = await createTestDatabase();
  const hostId = `${name}-${id}`;
  const prefix = `{t-${name}-${id}}`;
  const scratchRoot = fs.mkdtempSync(path.join(os.tmpdir(), `scratch-${name}-`));
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    DATABASE_URL: database.databaseUrl,
    DB_POOL_SIZE: '5',
    DB_CONNECTION_TIMEOUT_MS: '60000', // waiting for a pooled connection on a loaded machine is not a failure
    QUEUE_PREFIX: prefix,
    HOST_ID: hostId,
    SCRATCH_ROOT: scratchRoot,
    SCRATCH_MIN_FREE: '0',
    SIDECAR_BACKEND: 'fixture',
    LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn',
    LOG_JSON: '1',
    ...extra,
  };
  const db = createDb({ databaseUrl: database.databaseUrl, poolSize: 5, connectionTimeoutMs: 60_000 });
  const store = ObjectStore.fromConfig(readStorageConfig(env));
  return {
    env,
    db,
    store,
    hostId,
    prefix,
    scratchRoot,
    scratchListing: () => (fs.readdirSync(scratchRoot, { recursive: true }) as string[]).sort(),
    async close() {
      store.destroy();
      await db.close();
      await database.drop().catch(() => undefined);
      const redis = createRedisConnection(readRedisConfig(env), 'worker');
      await scanKeys(redis, `${prefix}:*`, async (keys) => {
        await redis.del(...keys);
      });
      redis.disconnect();
      fs.rmSync(scratchRoot, { recursive: true, force: true });
    },
  };
}
