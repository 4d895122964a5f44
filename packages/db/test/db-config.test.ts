import { describe, expect, it } from '@jest/globals';
import { ConfigError } from '@audio/config';
import { readDbConfig } from '../src/index.js';

describe('readDbConfig', () => {
  it('takes DATABASE_URL and the pool settings, with defaults', () => {
    expect(readDbConfig({ DATABASE_URL: 'postgresql://u:p@db:5432/audio' })).toEqual({
      databaseUrl: 'postgresql://u:p@db:5432/audio',
      poolSize: 10,
      connectionTimeoutMs: 10_000,
    });
    expect(readDbConfig({ DATABASE_URL: 'postgres://db/audio', DB_POOL_SIZE: '3' }).poolSize).toBe(3);
  });

  it('builds the URL from POSTGRES_* when DATABASE_URL is not set, escaping the password', () => {
    const config = readDbConfig({
      POSTGRES_HOST: 'db.internal',
      POSTGRES_PORT: '6432',
      POSTGRES_USER: 'audio',
      POSTGRES_PASSWORD: 'p@ss/word',
      POSTGRES_DB: 'pipeline',
    });
    expect(config.databaseUrl).toBe('postgresql://audio:p%40ss%2Fword@db.internal:6432/pipeline');
    expect(new URL(config.databaseUrl).password).toBe('p%40ss%2Fword');
  });

  it('names the variable that is missing or wrong', () => {
    expect(() => readDbConfig({})).toThrow(ConfigError);
    expect(() => readDbConfig({})).toThrow(
      /^DATABASE_URL is required but not set \(or set POSTGRES_HOST.*example: DATABASE_URL=postgresql:/,
    );
    expect(() => readDbConfig({ DATABASE_URL: 'mysql://db/x' })).toThrow(
      'DATABASE_URL is invalid ("mysql://db/x")',
    );
    expect(() => readDbConfig({ DATABASE_URL: 'postgresql://db/x', DB_POOL_SIZE: '0' })).toThrow(
      /^DB_POOL_SIZE is invalid/,
    );
  });
});
