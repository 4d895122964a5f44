import { createDb, type Db } from '../../src/index.js';
import { createTestDatabase } from '../../src/testing/index.js';

export interface FreshDb {
  db: Db;
  databaseUrl: string;
  /** Closes the pool and drops the database. */
  close(): Promise<void>;
}

/** A new database with the migrations applied, on the server the jest global setup provides. */
export async function openFreshDb(poolSize = 5): Promise<FreshDb> {
  const testDb = await createTestDatabase();
  const db = createDb({ databaseUrl: testDb.databaseUrl, poolSize, connectionTimeoutMs: 60_000 });
  return {
    db,
    databaseUrl: testDb.databaseUrl,
    close: async () => {
      await db.close();
      await testDb.drop();
    },
  };
}

export const SHA_A = 'a'.repeat(64);
export const SHA_B = 'b'.repeat(64);
