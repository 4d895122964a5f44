import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createDb, type Db } from '@audio/db';
import { createTestDatabase, type TestDatabase } from '@audio/db/testing';
import { createRedisConnection, readRedisConfig } from '@audio/queues';
import { ObjectStore, readStorageConfig } from '@audio/storage';

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
 * under the temp directory; the sidecar's fixture backend; short stalled-job timers so that a killed
 * worker's jobs come back within seconds.
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
    QUEUE_PREFIX: prefix,
    HOST_ID: hostId,
    SCRATCH_ROOT: scratchRoot,
    SCRATCH_MIN_FREE: '0',
    SIDECAR_BACKEND: 'fixture',
    JOB_LOCK_DURATION: '4s',
    STALLED_INTERVAL: '2s',
    LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn',
    LOG_JSON: '1',
    ...extra,
  };
  const db = createDb({ databaseUrl: database.databaseUrl, poolSize: 5, connectionTimeoutMs: 10_000 });
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
      let cursor = '0';
      do {
        const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
        cursor = next;
        if (keys.length) await redis.del(...keys);
      } while (cursor !== '0');
      redis.disconnect();
      fs.rmSync(scratchRoot, { recursive: true, force: true });
    },
  };
}
