import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { DbInputError, UploadClientExistsError, UploadClientRepository } from '../src/index.js';
import { openFreshDb, SHA_A, SHA_B, type FreshDb } from './support/fresh-db.js';

describe('UploadClientRepository', () => {
  let fresh: FreshDb;
  let clients: UploadClientRepository;

  beforeAll(async () => {
    fresh = await openFreshDb();
    clients = new UploadClientRepository(fresh.db);
  });
  afterAll(async () => {
    await fresh?.close();
  });

  it('creates, finds by token hash, lists, revokes once; names stay taken', async () => {
    const acme = await clients.create({
      name: 'acme',
      scope: 'upload',
      tokenHash: SHA_A,
      tokenPrefix: 'atk_ab',
    });
    expect(acme).toMatchObject({ name: 'acme', scope: 'upload', revokedAt: null });
    expect((await clients.findByTokenHash(SHA_A))?.name).toBe('acme');
    expect(await clients.findByTokenHash(SHA_B)).toBeNull();
    await clients.create({ name: 'ops', scope: 'download', tokenHash: SHA_B, tokenPrefix: 'atk_cd' });
    expect((await clients.list()).map((c) => c.name)).toEqual(['acme', 'ops']);

    const revoked = await clients.revoke('acme', new Date('2026-01-01T00:00:00Z'));
    expect(revoked?.revokedAt).toEqual(new Date('2026-01-01T00:00:00Z'));
    expect((await clients.revoke('acme'))?.revokedAt).toEqual(new Date('2026-01-01T00:00:00Z'));
    expect(await clients.revoke('nobody')).toBeNull();
    await expect(
      clients.create({ name: 'acme', scope: 'upload', tokenHash: 'c'.repeat(64), tokenPrefix: 'x' }),
    ).rejects.toThrow(UploadClientExistsError);
  });

  it('refuses names that would not be safe in a log line, and hashes that are not sha256', async () => {
    await expect(
      clients.create({ name: 'a b\n', scope: 'upload', tokenHash: 'd'.repeat(64), tokenPrefix: 'x' }),
    ).rejects.toThrow(DbInputError);
    await expect(
      clients.create({ name: 'fine', scope: 'upload', tokenHash: 'not-a-hash', tokenPrefix: 'x' }),
    ).rejects.toThrow('tokenHash must be a sha256 in hex');
  });
});
