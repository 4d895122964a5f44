// jest globalSetup: makes Redis, PostgreSQL and S3 (Swift) reachable for the test run and exports their
// variables, which jest's workers inherit. Under `pnpm test` they are already in the environment.
// Plain ESM loading the TypeScript through tsx: jest requires a .ts globalSetup as CommonJS.
import { tsImport } from 'tsx/esm/api';

export default async function setup() {
  const { ensureServices, describeServices, readState } = await tsImport('../src/index.ts', import.meta.url);
  const state = readState();
  if (state && !process.env.REDIS_URL) Object.assign(process.env, state.env);
  const services = await ensureServices({ s3Server: 'swift', log: () => undefined });
  Object.assign(process.env, services.env);
  if (services.started.length > 0)
    process.stderr.write(`\n[services]\n${describeServices(services.reports)}\n`);
  globalThis.__localServices = services;
}
