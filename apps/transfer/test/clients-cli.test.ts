// `transfer clients add|list|revoke` as an operator runs them: a child process on a fresh database.
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execa } from 'execa';
import { createDb, UploadClientRepository, type Db } from '@audio/db';
import { createTestDatabase, type TestDatabase } from '@audio/db/testing';
import { hashToken, UploadClients } from '../src/index.js';

const REPO = path.resolve(import.meta.dirname, '../../..');

describe('transfer clients (CLI)', () => {
  let database: TestDatabase;
  let db: Db;

  const cli = (...args: string[]) =>
    execa(
      process.execPath,
      ['--import', 'tsx', '--conditions=development', 'apps/transfer/src/cli.ts', 'clients', ...args],
      {
        cwd: REPO,
        reject: false,
        // Only the database: managing tokens needs neither Redis nor S3.
        env: { PATH: process.env.PATH, HOME: process.env.HOME, DATABASE_URL: database.databaseUrl },
        extendEnv: false,
      },
    );

  beforeAll(async () => {
    database = await createTestDatabase();
    db = createDb({ databaseUrl: database.databaseUrl, poolSize: 2, connectionTimeoutMs: 60_000 });
  });
  afterAll(async () => {
    await db?.close();
    await database?.drop();
  });

  it('adds a client (token shown once, stored hashed), lists it, revokes it', async () => {
    const added = await cli('add', 'acme-recordings', '--scope', 'upload', '--json');
    expect(added.exitCode).toBe(0);
    const { token, name, scope } = JSON.parse(String(added.stdout)) as Record<string, string>;
    expect({ name, scope }).toEqual({ name: 'acme-recordings', scope: 'upload' });
    expect(token).toMatch(/^atk_[A-Za-z0-9_-]{43}$/);
    const row = await new UploadClientRepository(db).findByName('acme-recordings');
    expect(row?.tokenHash).toBe(hashToken(token!));
    const registry = new UploadClients(new UploadClientRepository(db));
    expect(await registry.authenticate(token!)).toEqual({
      ok: true,
      client: { name: 'acme-recordings', scope: 'upload' },
    });

    const revoked = await cli('revoke', 'acme-recordings');
    expect(revoked).toMatchObject({ exitCode: 0, stdout: expect.stringContaining('revoked at') });
    expect(await registry.authenticate(token!)).toEqual({
      ok: false,
      reason: 'revoked',
      name: 'acme-recordings',
    });

    const listed = await cli('list', '--json');
    expect(JSON.parse(String(listed.stdout))).toEqual([
      expect.objectContaining({
        name: 'acme-recordings',
        scope: 'upload',
        tokenPrefix: token!.slice(0, 8),
        revokedAt: expect.any(String),
      }),
    ]);
    expect(String(listed.stdout)).not.toContain(token!.slice(8));
  });

  it('refuses a bad scope and a taken name with one line and exit 1', async () => {
    const badScope = await cli('add', 'someone', '--scope', 'admin');
    expect(badScope.exitCode).toBe(1);
    expect(String(badScope.stderr).trim()).toBe('transfer: --scope must be upload or download, not admin');
    const taken = await cli('add', 'acme-recordings', '--scope', 'download');
    expect(taken.exitCode).toBe(1);
    expect(String(taken.stderr).trim().split('\n')).toHaveLength(1);
    expect(String(taken.stderr)).toContain('exists already');
  });
});
