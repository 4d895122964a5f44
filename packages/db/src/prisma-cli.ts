import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';

/** packages/db, where prisma.config.ts is (the same depth from src/ and dist/). */
export const DB_PACKAGE_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const MIGRATIONS_DIR = path.resolve(DB_PACKAGE_DIR, '../../prisma/migrations');
export const SCHEMA_PATH = path.resolve(DB_PACKAGE_DIR, '../../prisma/schema.prisma');

/**
 * Runs the Prisma CLI from packages/db (so with its prisma.config.ts: wasm engine, patched adapter)
 * against the database and returns its output; fails with that output when the CLI does.
 */
export async function runPrismaCli(args: string[], databaseUrl: string): Promise<string> {
  const cli = createRequire(import.meta.url).resolve('prisma/build/index.js');
  const result = await execa(process.execPath, ['--conditions=development', cli, ...args], {
    cwd: DB_PACKAGE_DIR,
    env: {
      DATABASE_URL: databaseUrl,
      NODE_OPTIONS: '',
      CHECKPOINT_DISABLE: '1',
      PRISMA_HIDE_UPDATE_MESSAGE: '1',
    },
    all: true,
  });
  return result.all;
}

/**
 * `prisma migrate deploy`, exactly what `pnpm db:migrate` runs. The wasm schema engine leaves its 10 s
 * advisory-lock timer running, so the CLI exits about 10 s after the work is done.
 */
export function migrateDeploy(databaseUrl: string): Promise<string> {
  return runPrismaCli(['migrate', 'deploy'], databaseUrl);
}
