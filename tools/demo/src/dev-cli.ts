// `pnpm dev`: local services, a migrated database and development defaults, then `turbo run dev`
// (all four apps with reload). Ctrl-C stops the apps and whatever services were started for them; the
// data they keep (S3 objects beside their database, the dev credentials) stays for the next run.
import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import {
  freePort,
  LOCAL_DATA_DIR,
  readDevSession,
  removeDevSession,
  removeState,
  writeDevSession,
  writeState,
} from '@audio/local-services';
import { prepareDemoEnvironment } from './demo-environment.js';

const say = (line: string) => process.stderr.write(`[dev] ${line}\n`);

/** The variables a second terminal needs for the CLIs (`pnpm transfer ingest`, users, health). */
const SECOND_TERMINAL_VARS = [
  'REDIS_URL',
  'QUEUE_PREFIX',
  'DATABASE_URL',
  'S3_ENDPOINT',
  'S3_ACCESS_KEY',
  'S3_SECRET_KEY',
  'S3_BUCKET',
  'SCRATCH_ROOT',
  'TRANSFER_STATE_DIR',
  'TRANSFER_TEMP_DIR',
  'INBOX_DIR',
  'UPLOAD_API_TOKEN',
  'UPLOAD_API_PORT',
  'DASHBOARD_PORT',
  'SIDECAR_BACKEND',
];

interface DevCredentials {
  adminUser: string;
  adminPassword: string;
  uploadToken: string;
}

/**
 * Made once and kept with the local data: a second run prints the password that works (the dashboard
 * creates its first admin only when none exists, so a new random password would not).
 */
function devCredentials(): { credentials: DevCredentials; made: boolean } {
  const file = path.join(LOCAL_DATA_DIR, 'dev-credentials.json');
  try {
    return { credentials: JSON.parse(fs.readFileSync(file, 'utf8')) as DevCredentials, made: false };
  } catch {
    const credentials = {
      adminUser: 'admin',
      adminPassword: crypto.randomBytes(12).toString('base64url'),
      uploadToken: crypto.randomBytes(16).toString('hex'),
    };
    fs.mkdirSync(LOCAL_DATA_DIR, { recursive: true });
    fs.writeFileSync(file, JSON.stringify(credentials, null, 2), { mode: 0o600 });
    return { credentials, made: true };
  }
}

function portIsFree(port: number, host: string): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(false));
    server.listen(port, host, () => server.close(() => resolve(true)));
  });
}

const PORTS = [
  { variable: 'DASHBOARD_PORT', fallback: 3000, hostVariable: 'DASHBOARD_HOST' },
  { variable: 'UPLOAD_API_PORT', fallback: 8090, hostVariable: 'UPLOAD_API_HOST' },
] as const;

/** A port the developer set that another program holds: stop before starting anything. */
async function checkSetPorts(env: NodeJS.ProcessEnv): Promise<void> {
  for (const { variable, hostVariable } of PORTS) {
    const wanted = env[variable];
    if (wanted && !(await portIsFree(Number(wanted), env[hostVariable] ?? '127.0.0.1'))) {
      throw new Error(`${variable}=${wanted} is taken by another program; choose another port`);
    }
  }
}

/** An unset port: the usual one when free, else a free one, said out loud. */
async function choosePort(env: NodeJS.ProcessEnv, variable: string, fallback: number, host: string) {
  if (env[variable]) return;
  if (await portIsFree(fallback, host)) {
    env[variable] = String(fallback);
    return;
  }
  env[variable] = String(await freePort());
  say(`port ${fallback} is taken by another program: ${variable}=${env[variable]} instead`);
}

/** Whether an active admin other than ours exists (then our printed password is not theirs). */
async function otherAdmins(databaseUrl: string, ours: string): Promise<string[]> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const rows = await client.query<{ username: string }>(
      `SELECT username FROM ra_users WHERE role = 'admin' AND active AND username <> $1`,
      [ours],
    );
    return rows.rows.map((r) => r.username);
  } finally {
    await client.end();
  }
}

async function main(): Promise<number> {
  const running = readDevSession();
  if (running) {
    say(`pnpm dev is already running (pid ${running.pid}); one at a time per checkout`);
    return 1;
  }
  await checkSetPorts(process.env);
  const environment = await prepareDemoEnvironment({ log: say, purpose: 'dev' });
  const env = environment.env;
  let stopping = false;
  const cleanUp = async () => {
    removeDevSession();
    if (environment.services) removeState();
    await environment.close();
  };
  try {
    const local = path.join(os.tmpdir(), 'audio-pipeline-demo');
    // Development defaults only: production sets these itself and the apps refuse to run without them.
    env.INBOX_DIR ??= path.join(local, 'inbox');
    fs.mkdirSync(env.INBOX_DIR, { recursive: true });
    const { credentials, made } = devCredentials();
    env.UPLOAD_API_TOKEN ??= credentials.uploadToken;
    env.DASHBOARD_ADMIN_USER ??= credentials.adminUser;
    env.DASHBOARD_ADMIN_PASSWORD ??= credentials.adminPassword;
    env.LOG_PRETTY ??= '1';
    const dashboardHost = env.DASHBOARD_HOST ?? '127.0.0.1';
    for (const { variable, fallback, hostVariable } of PORTS) {
      await choosePort(env, variable, fallback, env[hostVariable] ?? '127.0.0.1');
    }

    // `pnpm services env|status|down` know these services and this session while dev runs.
    const services = environment.services;
    if (services) {
      writeState({
        pid: process.pid,
        owner: 'pnpm dev',
        env: services.env,
        reports: services.reports,
        pids: services.started.flatMap((s) => s.pids),
        ...(services.s3DataDir ? { s3DataDir: services.s3DataDir } : {}),
        startedAt: new Date().toISOString(),
      });
    }
    const sessionEnv = Object.fromEntries(
      SECOND_TERMINAL_VARS.flatMap((k) => (env[k] ? [[k, env[k]!]] : [])),
    );
    writeDevSession({ pid: process.pid, env: sessionEnv });

    say(`inbox: drop .tar archives into ${env.INBOX_DIR}  (pnpm fixtures:archive FILE writes one)`);
    say(`upload API: http://127.0.0.1:${env.UPLOAD_API_PORT}  token ${env.UPLOAD_API_TOKEN}`);
    say(
      `dashboard: http://${dashboardHost}:${env.DASHBOARD_PORT}  (${env.DASHBOARD_ADMIN_USER} / ${env.DASHBOARD_ADMIN_PASSWORD})`,
    );
    const others = await otherAdmins(env.DATABASE_URL!, env.DASHBOARD_ADMIN_USER).catch(() => []);
    if (others.length > 0 && made) {
      say(
        `note: this database already has admin ${others.join(', ')}; the password above is for ` +
          `${env.DASHBOARD_ADMIN_USER} only if that account is created now (else: pnpm --filter @audio/dashboard users set-password)`,
      );
    }
    say(`another terminal: eval "$(pnpm -s services env)"  then e.g. pnpm transfer ingest FILE.tar`);
  } catch (error) {
    await cleanUp();
    throw error;
  }

  const repo = path.resolve(import.meta.dirname, '../../..');
  const turbo = spawn(path.join(repo, 'node_modules/.bin/turbo'), ['run', 'dev', ...process.argv.slice(2)], {
    cwd: repo,
    env,
    stdio: 'inherit',
  });
  // Ctrl-C reaches turbo too (same process group); a second one must not cut our clean-up short.
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    say('stopping the apps, then the services started for them');
    turbo.kill(signal);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const code = await new Promise<number>((resolve) => turbo.on('exit', (c) => resolve(c ?? 0)));
  await cleanUp();
  say('stopped');
  return code;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    say(`could not start: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  },
);
