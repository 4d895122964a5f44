import crypto from 'node:crypto';
import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { PrismaPg } from '@prisma/adapter-pg';
import pg from 'pg';
import { MIGRATIONS_DIR, SCHEMA_PATH, migrateDeploy, runPrismaCli } from '../src/testing/index.js';

const serverUrl = () => process.env.DATABASE_URL!;

function urlOf(database: string): string {
  const url = new URL(serverUrl());
  url.pathname = `/${database}`;
  return url.toString();
}

async function onServer<T>(work: (client: pg.Client) => Promise<T>, url = serverUrl()): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

/** Every table column, index, constraint, view and enum of the public schema, as sorted text. */
async function schemaSnapshot(url: string): Promise<string[]> {
  return onServer(async (client) => {
    const { rows } = await client.query<{ item: string }>(`
      SELECT 'column ' || table_name || '.' || column_name || ' ' || data_type || ' ' || is_nullable
             || ' ' || coalesce(column_default, '') AS item
      FROM information_schema.columns WHERE table_schema = 'public'
      UNION ALL SELECT 'index ' || indexdef FROM pg_indexes WHERE schemaname = 'public'
      UNION ALL SELECT 'constraint ' || conname || ' ' || pg_get_constraintdef(oid)
      FROM pg_constraint WHERE connamespace = 'public'::regnamespace
      UNION ALL SELECT 'view ' || viewname || ' ' || definition FROM pg_views WHERE schemaname = 'public'
      UNION ALL SELECT 'enum ' || t.typname || ' ' || string_agg(e.enumlabel, ',' ORDER BY e.enumsortorder)
      FROM pg_type t JOIN pg_enum e ON e.enumtypid = t.oid GROUP BY t.typname
      ORDER BY 1`);
    return rows.map((r) => r.item);
  }, url);
}

describe('migrations (prisma migrate deploy through the patched adapter, no network)', () => {
  const name = `audio_test_${Math.floor(Date.now() / 1000)}_${crypto.randomBytes(4).toString('hex')}`;
  const migrationNames = fs
    .readdirSync(MIGRATIONS_DIR, { withFileTypes: true })
    .filter((e) => e.isDirectory())
    .map((e) => e.name)
    .sort();

  beforeAll(() => onServer((client) => client.query(`CREATE DATABASE "${name}"`)));
  afterAll(() => onServer((client) => client.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`)));

  it('applies every migration to an empty database, and a second run changes nothing', async () => {
    const first = await migrateDeploy(urlOf(name));
    expect(first).toContain('All migrations have been successfully applied.');
    const after = await schemaSnapshot(urlOf(name));
    expect(after.filter((item) => item.startsWith('view ra_queue '))).toHaveLength(1);
    expect(after).toContainEqual(
      expect.stringContaining(
        'ra_assignments_one_open_per_file ON public.ra_assignments USING btree (audio_file_id) WHERE',
      ),
    );

    const second = await migrateDeploy(urlOf(name));
    expect(second).toContain('No pending migrations to apply.');
    expect(await schemaSnapshot(urlOf(name))).toEqual(after);
    const applied = await onServer(
      (client) =>
        client.query<{ migration_name: string }>(
          'SELECT migration_name FROM _prisma_migrations WHERE finished_at IS NOT NULL AND rolled_back_at IS NULL ORDER BY 1',
        ),
      urlOf(name),
    );
    expect(applied.rows.map((r) => r.migration_name)).toEqual(migrationNames);
  });

  it('the committed migrations produce exactly what schema.prisma describes', async () => {
    const output = await runPrismaCli(
      [
        'migrate',
        'diff',
        '--from-migrations',
        MIGRATIONS_DIR,
        '--to-schema-datamodel',
        SCHEMA_PATH,
        '--script',
        '--exit-code',
      ],
      serverUrl(),
    );
    expect(output).toContain('-- This is an empty migration.');
  });
});

describe('the @prisma/adapter-pg patch', () => {
  let adapter: Awaited<ReturnType<PrismaPg['connect']>>;
  const table = `patch_check_${crypto.randomBytes(4).toString('hex')}`;

  beforeAll(async () => {
    adapter = await new PrismaPg({ connectionString: serverUrl(), max: 1 }).connect();
  });
  afterAll(async () => {
    await adapter?.executeScript(`DROP TABLE IF EXISTS ${table}`);
    await adapter?.dispose();
  });

  it('reads pg_catalog columns of type name (OID 19) and "char" (OID 18)', async () => {
    const result = await adapter.queryRaw({
      sql: `SELECT relname, relkind FROM pg_class WHERE relname = 'pg_class'`,
      args: [],
      argTypes: [],
    });
    expect(result.rows).toEqual([['pg_class', 'r']]);
  });

  it('runs a script as one statement batch: a failure leaves nothing, a ; in a comment is harmless', async () => {
    await expect(
      adapter.executeScript(`CREATE TABLE ${table} (x int); -- a comment; with a semicolon\nSELECT 1/0;`),
    ).rejects.toThrow();
    const exists = await adapter.queryRaw({
      sql: `SELECT to_regclass('${table}')::text AS t`,
      args: [],
      argTypes: [],
    });
    expect(exists.rows).toEqual([[null]]);

    await adapter.executeScript(
      `CREATE TABLE ${table} (x int); -- a comment; with a semicolon\nINSERT INTO ${table} VALUES (1);`,
    );
    const rows = await adapter.queryRaw({ sql: `SELECT x FROM ${table}`, args: [], argTypes: [] });
    expect(rows.rows).toEqual([[1]]);
  });
});
