// Prisma CLI settings inside a release (copied to packages/db/prisma.config.mjs by build-release.sh):
// the same offline setup as packages/db/prisma.config.ts (the wasm schema engine through the patched
// @prisma/adapter-pg), reading the compiled db-config from dist/ because a release ships no sources.
import path from 'node:path';
import { defineConfig } from 'prisma/config';
import { PrismaPg } from '@prisma/adapter-pg';
import { parseIntoClientConfig } from 'pg-connection-string';
import { readDbConfig } from './dist/db-config.js';

const root = path.resolve(import.meta.dirname, '../..');
const env = { ...process.env };
process.env.DATABASE_URL ??= 'postgresql://unused.invalid/see-prisma-config';

export default defineConfig({
  experimental: { adapter: true },
  engine: 'js',
  schema: path.join(root, 'prisma/schema.prisma'),
  migrations: { path: path.join(root, 'prisma/migrations') },
  adapter: async () =>
    new PrismaPg({ ...parseIntoClientConfig(readDbConfig(env).databaseUrl), max: 2, allowExitOnIdle: true }),
});
