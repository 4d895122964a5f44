// `pnpm dev`: local services, a migrated database and development defaults, then `turbo run dev`
// (all four apps with reload). Ctrl-C stops the apps and whatever services were started for them.
import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { prepareDemoEnvironment } from './demo-environment.js';

const say = (line: string) => process.stderr.write(`[dev] ${line}\n`);

async function main(): Promise<number> {
  const environment = await prepareDemoEnvironment({ log: say });
  const env = environment.env;
  const local = path.join(os.tmpdir(), 'audio-pipeline-demo');
  // Development defaults only: production sets these itself and the apps refuse to run without them.
  env.INBOX_DIR ??= path.join(local, 'inbox');
  fs.mkdirSync(env.INBOX_DIR, { recursive: true });
  env.UPLOAD_API_TOKEN ??= crypto.randomBytes(16).toString('hex');
  env.DASHBOARD_ADMIN_USER ??= 'admin';
  env.DASHBOARD_ADMIN_PASSWORD ??= crypto.randomBytes(9).toString('base64url');
  env.LOG_PRETTY ??= '1';
  say(`inbox: drop .tar archives into ${env.INBOX_DIR}`);
  say(`upload API token: ${env.UPLOAD_API_TOKEN}`);
  say(
    `dashboard: http://${env.DASHBOARD_HOST ?? '127.0.0.1'}:${env.DASHBOARD_PORT ?? '3000'}  (${env.DASHBOARD_ADMIN_USER} / ${env.DASHBOARD_ADMIN_PASSWORD})`,
  );

  const repo = path.resolve(import.meta.dirname, '../../..');
  const turbo = spawn(path.join(repo, 'node_modules/.bin/turbo'), ['run', 'dev', ...process.argv.slice(2)], {
    cwd: repo,
    env,
    stdio: 'inherit',
  });
  const forward = (signal: NodeJS.Signals) => turbo.kill(signal);
  process.on('SIGINT', forward);
  process.on('SIGTERM', forward);
  const code = await new Promise<number>((resolve) => turbo.on('exit', (c) => resolve(c ?? 0)));
  await environment.close();
  return code;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    say(`could not start: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  },
);
