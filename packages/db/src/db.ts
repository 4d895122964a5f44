import { PrismaPg } from '@prisma/adapter-pg';
import pg from 'pg';
import { PrismaClient } from './generated/prisma/client.js';
import { readDbConfig, type DbConfig } from './db-config.js';

/** One process's database handle: the Prisma client on a pg pool of `poolSize` connections. */
export interface Db {
  prisma: PrismaClient;
  /** One round trip (`SELECT 1`): for health checks. */
  ping(): Promise<void>;
  /** A connection of its own, outside the pool (a cursor holds one for a whole export); the caller ends it. */
  connect(): Promise<pg.Client>;
  /** Closes the pool; the handle is unusable afterwards. */
  close(): Promise<void>;
}

export function createDb(config: DbConfig = readDbConfig()): Db {
  const adapter = new PrismaPg({
    connectionString: config.databaseUrl,
    max: config.poolSize,
    connectionTimeoutMillis: config.connectionTimeoutMs,
  });
  const prisma = new PrismaClient({
    adapter,
    // A burst of workers can wait for a pooled connection longer than Prisma's 2 s default.
    transactionOptions: { maxWait: config.connectionTimeoutMs, timeout: 30_000 },
  });
  return {
    prisma,
    ping: async () => void (await prisma.$queryRaw`SELECT 1`),
    async connect() {
      const client = new pg.Client({
        connectionString: config.databaseUrl,
        connectionTimeoutMillis: config.connectionTimeoutMs,
      });
      await client.connect();
      return client;
    },
    close: () => prisma.$disconnect(),
  };
}
