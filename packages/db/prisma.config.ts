// Prisma CLI settings for `prisma generate` and `prisma migrate deploy`, run from packages/db with the
// `development` export condition (the package scripts set it) so that workspace imports resolve to src.
// Offline setup (no engine downloads): the wasm schema engine bundled with Prisma 6.19 talks to
// Postgres through @prisma/adapter-pg, patched for OID 19 (`name`); see README.md.
import path from 'node:path';
import { defineConfig } from 'prisma/config';
import { PrismaPg } from '@prisma/adapter-pg';
import { parseIntoClientConfig } from 'pg-connection-string';
import { readDbConfig } from './src/db-config.js';

const root = path.resolve(import.meta.dirname, '../..');
const env = { ...process.env };

// schema.prisma's `url = env("DATABASE_URL")` must resolve even for `prisma generate`, which needs no
// database; the adapter below is what connects, configured from the environment as it was given.
process.env.DATABASE_URL ??= 'postgresql://unused.invalid/see-prisma-config';

export default defineConfig({
  experimental: { adapter: true },
  engine: 'js',
  schema: path.join(root, 'prisma/schema.prisma'),
  migrations: { path: path.join(root, 'prisma/migrations') },
  // Read only when a command needs the database, so `prisma generate` works without DATABASE_URL.
  // Separate fields, not connectionString: the adapter opens a shadow database (migrate diff
  // --from-migrations) by overriding `database`, which a connectionString would win over.
  // The CLI never closes the pool: allowExitOnIdle lets it exit as soon as it is idle.
  adapter: async () =>
    new PrismaPg({ ...parseIntoClientConfig(readDbConfig(env).databaseUrl), max: 2, allowExitOnIdle: true }),
});
