import { z } from 'zod';
import { ConfigError, envVar, integerFromEnv, readEnv } from '@audio/config';

const URL_EXAMPLE = 'postgresql://audio:secret@db.internal:5432/audio';

const dbEnv = z
  .object({
    DATABASE_URL: envVar(
      z.url({ protocol: /^postgres(ql)?$/, error: 'must be a postgresql:// URL' }).optional(),
      URL_EXAMPLE,
    ),
    POSTGRES_HOST: envVar(z.string().optional(), 'db.internal'),
    POSTGRES_PORT: envVar(integerFromEnv(1, 65535).default(5432), '5432'),
    POSTGRES_USER: envVar(z.string().default('postgres'), 'audio'),
    POSTGRES_PASSWORD: envVar(z.string().optional(), 'secret'),
    POSTGRES_DB: envVar(z.string().default('postgres'), 'audio'),
    DB_POOL_SIZE: envVar(integerFromEnv(1, 1000).default(10), '10'),
    DB_CONNECTION_TIMEOUT_MS: envVar(integerFromEnv(1, 3_600_000).default(10_000), '10000'),
  })
  .transform((e) => ({
    /** postgresql://user:password@host:port/database */
    databaseUrl: e.DATABASE_URL ?? urlFromParts(e),
    /** Connections in this process's pool (pg.Pool `max`). */
    poolSize: e.DB_POOL_SIZE,
    /** How long a query waits for a free connection before failing, in ms. */
    connectionTimeoutMs: e.DB_CONNECTION_TIMEOUT_MS,
  }));

export type DbConfig = z.output<typeof dbEnv>;

function urlFromParts(e: {
  POSTGRES_HOST?: string | undefined;
  POSTGRES_PORT: number;
  POSTGRES_USER: string;
  POSTGRES_PASSWORD?: string | undefined;
  POSTGRES_DB: string;
}): string {
  if (!e.POSTGRES_HOST) {
    throw new ConfigError(
      'DATABASE_URL',
      `DATABASE_URL is required but not set (or set POSTGRES_HOST and POSTGRES_USER/PASSWORD/DB); example: DATABASE_URL=${URL_EXAMPLE}`,
    );
  }
  const url = new URL('postgresql://localhost');
  url.hostname = e.POSTGRES_HOST;
  url.port = String(e.POSTGRES_PORT);
  url.username = e.POSTGRES_USER;
  if (e.POSTGRES_PASSWORD) url.password = e.POSTGRES_PASSWORD;
  url.pathname = `/${e.POSTGRES_DB}`;
  return url.toString();
}

/**
 * The database settings from DATABASE_URL, or else from POSTGRES_HOST/PORT/USER/PASSWORD/DB (the
 * seeds' names; POSTGRES_HOST is then required), plus DB_POOL_SIZE (default 10) and
 * DB_CONNECTION_TIMEOUT_MS (default 10000).
 */
export function readDbConfig(env: Record<string, string | undefined> = process.env): DbConfig {
  return readEnv(dbEnv, env);
}
