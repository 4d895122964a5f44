import { PrismaPg } from '@prisma/adapter-pg';
import { PrismaClient } from './generated/prisma/client.js';
import { readDbConfig, type DbConfig } from './db-config.js';

/** One process's database handle: the Prisma client on a pg pool of `poolSize` connections. */
export interface Db {
  prisma: PrismaClient;
  /** One round trip (`SELECT 1`): for health checks. */
  ping(): Promise<void>;
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
    close: () => prisma.$disconnect(),
  };
}
