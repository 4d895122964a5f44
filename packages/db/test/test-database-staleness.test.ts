import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import crypto from 'node:crypto';
import pg from 'pg';
import { createTestDatabase, dropStaleTestDatabases } from '../src/testing/index.js';

// Two checkouts (two branches, two migration sets) run their suites against one server. Each run
// used to drop every template but its own, so the other run's next test database failed with
// 'template database "audio_tpl_…" does not exist'. Only templates built over a day ago go now.
describe('test database templates on a shared server', () => {
  const serverUrl = process.env.DATABASE_URL!;
  const suffix = crypto.randomBytes(4).toString('hex');
  const recent = `audio_tpl_recent${suffix}`;
  const old = `audio_tpl_old${suffix}`;
  let client: pg.Client;

  beforeAll(async () => {
    client = new pg.Client({ connectionString: serverUrl });
    await client.connect();
    const now = Math.floor(Date.now() / 1000);
    await client.query(`CREATE DATABASE "${recent}"`);
    await client.query(`COMMENT ON DATABASE "${recent}" IS 'built ${now}'`);
    await client.query(`CREATE DATABASE "${old}"`);
    await client.query(`COMMENT ON DATABASE "${old}" IS 'built ${now - 2 * 24 * 3600}'`);
  });

  afterAll(async () => {
    await client.query(`DROP DATABASE IF EXISTS "${recent}"`);
    await client.query(`DROP DATABASE IF EXISTS "${old}"`);
    await client.end();
  });

  it("keeps another run's recent template and drops one built over a day ago", async () => {
    await dropStaleTestDatabases(serverUrl);
    const { rows } = await client.query<{ datname: string }>(
      'SELECT datname FROM pg_database WHERE datname = ANY($1)',
      [[recent, old]],
    );
    expect(rows.map((row) => row.datname)).toEqual([recent]);
  });

  it('still makes test databases from its own template afterwards', async () => {
    const testDb = await createTestDatabase(serverUrl);
    await testDb.drop();
  });
});
