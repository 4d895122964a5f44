import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { MIGRATIONS_DIR, migrateDeploy } from '../prisma-cli.js';

export interface TestDatabase {
  /** postgresql:// URL of the new database, for createDb({ databaseUrl, ... }) or DATABASE_URL. */
  databaseUrl: string;
  name: string;
  /** Drops the database (closing any connections still open to it). */
  drop(): Promise<void>;
}

const TEST_PREFIX = 'audio_test_';
const TEMPLATE_PREFIX = 'audio_tpl_';
/** pg_advisory_lock key that serializes template builds across jest workers and concurrent runs. */
const TEMPLATE_LOCK = 0x61756469; // 'audi'
const STALE_AFTER_S = 24 * 3600;
/** SQLSTATE of "database … does not exist". */
const INVALID_CATALOG_NAME = '3D000';

const templates = new Map<string, Promise<string>>();

/**
 * A new, empty database with every migration applied, on the server of `serverUrl` (default
 * DATABASE_URL, which the jest global setup of @audio/local-services provides).
 *
 * The migrations are applied by `prisma migrate deploy` (what production runs) once per set of
 * migrations into a template database named after their hash; each test database is a copy of it
 * (CREATE DATABASE … TEMPLATE, milliseconds instead of the CLI's ~12 s). Test databases left behind by
 * crashed runs are dropped after a day.
 */
export async function createTestDatabase(serverUrl = process.env.DATABASE_URL): Promise<TestDatabase> {
  if (!serverUrl) {
    throw new Error(
      'createTestDatabase: no PostgreSQL server; pass its URL or set DATABASE_URL ' +
        '(the jest global setup of @audio/local-services does)',
    );
  }
  let template = templates.get(serverUrl);
  if (!template) {
    template = ensureTemplate(serverUrl);
    templates.set(serverUrl, template);
    template.catch(() => templates.delete(serverUrl));
  }
  const templateName = await template;
  const name = `${TEST_PREFIX}${Math.floor(Date.now() / 1000)}_${crypto.randomBytes(4).toString('hex')}`;
  try {
    await createFromTemplate(serverUrl, name, templateName);
  } catch (error) {
    // Dropped under us (by hand, or by a run of a version older than the staleness rule below):
    // build it again once instead of failing every test database of this run.
    if ((error as { code?: string }).code !== INVALID_CATALOG_NAME) throw error;
    templates.delete(serverUrl);
    return createTestDatabase(serverUrl);
  }
  return {
    databaseUrl: databaseUrlFor(serverUrl, name),
    name,
    drop: () =>
      withServer(serverUrl, (client) =>
        client.query(`DROP DATABASE IF EXISTS ${quote(name)} WITH (FORCE)`),
      ).then(() => undefined),
  };
}

/** Drops what dropStale calls stale, as every run does once after its template is there. */
export async function dropStaleTestDatabases(serverUrl: string): Promise<void> {
  await withServer(serverUrl, (client) => dropStale(client, currentTemplateName()));
}

function currentTemplateName(): string {
  return `${TEMPLATE_PREFIX}${migrationsHash().slice(0, 16)}`;
}

/** The template for the current migrations, built under a lock if no run has built it yet. */
async function ensureTemplate(serverUrl: string): Promise<string> {
  const template = currentTemplateName();
  await withServer(serverUrl, async (client) => {
    await client.query('SELECT pg_advisory_lock($1)', [TEMPLATE_LOCK]);
    try {
      const found = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [template]);
      if (found.rowCount === 0) {
        // Built under another name and renamed when complete: a crash never leaves a half-migrated template.
        const building = `${template}_building`;
        await client.query(`DROP DATABASE IF EXISTS ${quote(building)} WITH (FORCE)`);
        await client.query(`CREATE DATABASE ${quote(building)}`);
        await migrateDeploy(databaseUrlFor(serverUrl, building));
        await client.query(`ALTER DATABASE ${quote(building)} RENAME TO ${quote(template)}`);
        // When it was built, for dropStale: PostgreSQL keeps no creation time of its own.
        await client.query(
          `COMMENT ON DATABASE ${quote(template)} IS 'built ${Math.floor(Date.now() / 1000)}'`,
        );
      }
      await dropStale(client, template);
    } finally {
      await client.query('SELECT pg_advisory_unlock($1)', [TEMPLATE_LOCK]);
    }
  });
  return template;
}

/**
 * Templates and test databases older than a day (best effort: in use → kept). A template of other
 * migrations is not stale by that alone: a checkout of another branch may be running its suite on
 * the same server right now, and dropping its template failed that run's next test database.
 */
async function dropStale(client: pg.Client, currentTemplate: string): Promise<void> {
  const { rows } = await client.query<{ datname: string; comment: string | null }>(
    `SELECT datname, shobj_description(oid, 'pg_database') AS comment
       FROM pg_database WHERE datname LIKE $1 OR datname LIKE $2`,
    [`${TEMPLATE_PREFIX}%`, `${TEST_PREFIX}%`],
  );
  const now = Date.now() / 1000;
  for (const { datname, comment } of rows) {
    const createdS = datname.startsWith(TEMPLATE_PREFIX)
      ? Number(/^built (\d+)$/.exec(comment ?? '')?.[1] ?? 0)
      : Number(/^audio_test_(\d+)_/.exec(datname)?.[1] ?? NaN);
    const stale =
      datname !== currentTemplate && !datname.endsWith('_building') && now - createdS > STALE_AFTER_S;
    if (stale) await client.query(`DROP DATABASE IF EXISTS ${quote(datname)}`).catch(() => undefined);
  }
}

/** Hash of every migration's name and SQL: a changed or added migration gets a new template. */
function migrationsHash(): string {
  const hash = crypto.createHash('sha256');
  const names = fs
    .readdirSync(MIGRATIONS_DIR, { withFileTypes: true })
    .filter((entry) => entry.isDirectory())
    .map((entry) => entry.name)
    .sort();
  for (const name of names) {
    hash.update(`${name}\0`);
    hash.update(fs.readFileSync(path.join(MIGRATIONS_DIR, name, 'migration.sql')));
  }
  return hash.digest('hex');
}

async function createFromTemplate(serverUrl: string, name: string, template: string): Promise<void> {
  await withServer(serverUrl, (client) =>
    client.query(`CREATE DATABASE ${quote(name)} TEMPLATE ${quote(template)}`),
  );
}

async function withServer<T>(serverUrl: string, work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: serverUrl });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

function databaseUrlFor(serverUrl: string, database: string): string {
  const url = new URL(serverUrl);
  url.pathname = `/${database}`;
  return url.toString();
}

function quote(identifier: string): string {
  return `"${identifier.replaceAll('"', '""')}"`;
}
