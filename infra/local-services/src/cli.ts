#!/usr/bin/env tsx
// `pnpm services up|down|status|env` and `pnpm services run -- CMD`: local Redis, PostgreSQL and S3.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import { Command } from 'commander';
import './index.js';
import { describeServices, ensureServices, killPids, type S3ServerKind } from './services.js';
import path from 'node:path';
import pg from 'pg';
import { configuredDatabaseUrl } from './postgres.js';
import {
  isAlive,
  LOCAL_DATA_DIR,
  readDevSession,
  readState,
  removeState,
  STATE_DIR,
  SUPERVISOR_LOG,
  writeState,
} from './state.js';

const program = new Command('services').description(
  'Use the configured Redis, PostgreSQL and S3 when they answer; start local ones when they do not.',
);
const s3Option = ['--s3 <server>', 'S3 server to start when none is configured: swift or s3rver'] as const;

program
  .command('up')
  .description('start what is missing and keep it running in the background until `services down`')
  .option(...s3Option)
  .action(async (opts: { s3?: S3ServerKind }) => {
    const running = readState();
    if (running) {
      console.log(
        `already up (${running.owner ?? 'services up'}, pid ${running.pid}):\n${describeServices(running.reports)}`,
      );
      return;
    }
    fs.mkdirSync(STATE_DIR, { recursive: true });
    const logFd = fs.openSync(SUPERVISOR_LOG, 'w');
    const args = [...process.execArgv, process.argv[1]!, 'supervise', ...(opts.s3 ? ['--s3', opts.s3] : [])];
    const child = spawn(process.execPath, args, { detached: true, stdio: ['ignore', logFd, logFd] });
    child.unref();
    const deadline = Date.now() + 120_000;
    for (;;) {
      const state = readState();
      if (state) {
        console.log(`up (supervisor pid ${state.pid}):\n${describeServices(state.reports)}`);
        console.log(`environment: eval "$(pnpm -s services env)"`);
        return;
      }
      if (!isAlive(child.pid!) || Date.now() > deadline) {
        process.exitCode = 1;
        console.error(`services did not come up:\n${fs.readFileSync(SUPERVISOR_LOG, 'utf8')}`);
        return;
      }
      await new Promise((r) => setTimeout(r, 200));
    }
  });

program
  .command('supervise', { hidden: true })
  .option(...s3Option)
  .action(async (opts: { s3?: S3ServerKind }) => {
    // The services a developer keeps up between runs: S3 objects stay in .local-services/data.
    const services = await ensureServices({ s3Server: opts.s3, s3DataDir: path.join(LOCAL_DATA_DIR, 's3') });
    const shutdown = async () => {
      removeState();
      await services.stop();
      process.exit(0);
    };
    process.on('SIGTERM', () => void shutdown());
    process.on('SIGINT', () => void shutdown());
    writeState({
      pid: process.pid,
      owner: 'services up',
      ...(services.s3DataDir ? { s3DataDir: services.s3DataDir } : {}),
      env: services.env,
      reports: services.reports,
      pids: services.started.flatMap((s) => s.pids),
      startedAt: new Date().toISOString(),
    });
    console.log(describeServices(services.reports));
    setInterval(() => undefined, 1 << 30);
  });

program
  .command('down')
  .description('stop what `services up` (or a running `pnpm dev`) started')
  .action(async () => {
    const state = readState();
    if (!state) {
      console.log('nothing is up');
      return;
    }
    process.kill(state.pid, 'SIGTERM');
    const deadline = Date.now() + 30_000;
    while (isAlive(state.pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    if (isAlive(state.pid)) await killPids([state.pid, ...state.pids]);
    removeState();
    console.log('down');
  });

program
  .command('status')
  .description('what is up, and where')
  .action(() => {
    const state = readState();
    const dev = readDevSession();
    console.log(
      state
        ? `up since ${state.startedAt} (${state.owner ?? 'services up'}, pid ${state.pid}):\n${describeServices(state.reports)}`
        : 'nothing is up',
    );
    if (dev)
      console.log(
        `pnpm dev is running (pid ${dev.pid}): \`eval "$(pnpm -s services env)"\` gives a shell its settings`,
      );
    if (state?.s3DataDir)
      console.log(`S3 objects kept in ${state.s3DataDir} (\`pnpm services reset\` removes them)`);
  });

program
  .command('env')
  .description(
    'print `export` lines for the services that are up, or for the running `pnpm dev` (its database, queues, token, …)',
  )
  .action(() => {
    const env = readDevSession()?.env ?? readState()?.env;
    if (!env) {
      console.error('nothing is up: run `pnpm services up` or `pnpm dev` first');
      process.exitCode = 1;
      return;
    }
    for (const [k, v] of Object.entries(env)) console.log(`export ${k}=${shellQuote(v)}`);
  });

program
  .command('reset')
  .description(
    'delete the local data that `pnpm dev` and `services up` keep (S3 objects, dev credentials) and the database that goes with it',
  )
  .action(async () => {
    const running = readState() ?? readDevSession();
    if (running) {
      console.error(
        `services are up (pid ${running.pid}): stop them first (\`pnpm services down\` or Ctrl-C in pnpm dev)`,
      );
      process.exitCode = 1;
      return;
    }
    const idFile = path.join(LOCAL_DATA_DIR, 's3', 'data-id');
    const id = fs.existsSync(idFile) ? fs.readFileSync(idFile, 'utf8').trim() : undefined;
    if (id && /^[0-9a-f]+$/.test(id)) {
      const database = `audio_dev_${id}`;
      const client = new pg.Client({ connectionString: configuredDatabaseUrl(process.env) });
      try {
        await client.connect();
        await client.query(`DROP DATABASE IF EXISTS "${database}" WITH (FORCE)`);
        console.log(`dropped database ${database}`);
      } catch (error) {
        console.error(`could not drop database ${database}: ${(error as Error).message} (drop it by hand)`);
      } finally {
        await client.end().catch(() => undefined);
      }
    }
    fs.rmSync(LOCAL_DATA_DIR, { recursive: true, force: true });
    console.log(`removed ${LOCAL_DATA_DIR}`);
  });

program
  .command('run')
  .description('run a command with the services available, stopping what was started when it ends')
  .argument('<command...>', 'the command, after --')
  .option(...s3Option)
  .action(async (command: string[], opts: { s3?: S3ServerKind }) => {
    const running = readState();
    const services = running ? undefined : await ensureServices({ s3Server: opts.s3 });
    const env = running?.env ?? services!.env;
    console.error(`[services]\n${describeServices(running?.reports ?? services!.reports)}`);
    // An interrupted run never reports success: turbo, told to stop, shuts its tasks down and exits 0
    // even when some had failed (seen when a test run was killed), so a signal we got sets the code.
    // The handlers come before the spawn: a signal in between would otherwise kill us, not the command.
    // (Node runs a handler from its event loop, so `child` exists by the time one runs.)
    let interrupted: NodeJS.Signals | undefined;
    const forward = (signal: NodeJS.Signals) => {
      interrupted = signal;
      child.kill(signal);
    };
    process.on('SIGINT', forward);
    process.on('SIGTERM', forward);
    const child = spawn(command[0]!, command.slice(1), { stdio: 'inherit', env: { ...process.env, ...env } });
    const exitCodeOf = (signal: NodeJS.Signals) => 128 + os.constants.signals[signal];
    const childCode = await new Promise<number>((resolve) =>
      child.on('exit', (c, signal) => resolve(c ?? (signal ? exitCodeOf(signal) : 1))),
    );
    const code = interrupted ? exitCodeOf(interrupted) : childCode;
    if (services) {
      await services.stop();
      console.error('[services] stopped what was started');
    }
    process.exit(code);
  });

/** POSIX single quotes: safe for any value in `eval "$(…)"`. */
function shellQuote(value: string): string {
  return `'${value.replaceAll("'", `'\\''`)}'`;
}

await program.parseAsync();
