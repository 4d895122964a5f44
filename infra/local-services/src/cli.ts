#!/usr/bin/env tsx
// `pnpm services up|down|status|env` and `pnpm services run -- CMD`: local Redis, PostgreSQL and S3.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import { Command } from 'commander';
import './index.js';
import { describeServices, ensureServices, killPids, type S3ServerKind } from './services.js';
import { isAlive, readState, removeState, STATE_DIR, SUPERVISOR_LOG, writeState } from './state.js';

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
      console.log(`already up (supervisor pid ${running.pid}):\n${describeServices(running.reports)}`);
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
    const services = await ensureServices({ s3Server: opts.s3 });
    const shutdown = async () => {
      removeState();
      await services.stop();
      process.exit(0);
    };
    process.on('SIGTERM', () => void shutdown());
    process.on('SIGINT', () => void shutdown());
    writeState({
      pid: process.pid,
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
  .description('stop what `services up` started')
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
    console.log(
      state
        ? `up since ${state.startedAt} (supervisor pid ${state.pid}):\n${describeServices(state.reports)}`
        : 'nothing is up',
    );
  });

program
  .command('env')
  .description('print `export` lines for the services that are up')
  .action(() => {
    const state = readState();
    if (!state) {
      console.error('nothing is up: run `pnpm services up` first');
      process.exitCode = 1;
      return;
    }
    for (const [k, v] of Object.entries(state.env)) console.log(`export ${k}=${JSON.stringify(v)}`);
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
    const child = spawn(command[0]!, command.slice(1), { stdio: 'inherit', env: { ...process.env, ...env } });
    const forward = (signal: NodeJS.Signals) => child.kill(signal);
    process.on('SIGINT', forward);
    process.on('SIGTERM', forward);
    const code = await new Promise<number>((resolve) =>
      child.on('exit', (c, signal) => resolve(c ?? (signal ? 128 + 1 : 1))),
    );
    if (services) {
      await services.stop();
      console.error('[services] stopped what was started');
    }
    process.exit(code);
  });

await program.parseAsync();
