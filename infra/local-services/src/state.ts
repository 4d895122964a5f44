import fs from 'node:fs';
import path from 'node:path';
import type { ServiceReport } from './services.js';

/**
 * `pnpm services up` leaves a supervisor process running, and `pnpm dev` owns the services it started
 * while it runs; this file says which process that is and where its services are.
 */
export interface SupervisorState {
  pid: number;
  /** Which command holds the services (`services down` stops it). */
  owner?: 'services up' | 'pnpm dev';
  env: Record<string, string>;
  reports: ServiceReport[];
  /** Processes of the started services, for `down` when the supervisor itself is gone. */
  pids: number[];
  /** Where the started S3 server keeps its objects across runs, if it does. */
  s3DataDir?: string;
  startedAt: string;
}

/** While `pnpm dev` runs: everything a second terminal needs (`pnpm services env` prints it). */
export interface DevSession {
  pid: number;
  env: Record<string, string>;
}

/** `.local-services/` in the checkout (git-ignored); LOCAL_SERVICES_DIR moves it (tests use their own). */
export const STATE_DIR = path.resolve(
  process.env.LOCAL_SERVICES_DIR ?? path.join(import.meta.dirname, '../../../.local-services'),
);
export const STATE_FILE = path.join(STATE_DIR, 'state.json');
export const SUPERVISOR_LOG = path.join(STATE_DIR, 'supervisor.log');
export const DEV_SESSION_FILE = path.join(STATE_DIR, 'dev.json');
/** Local data that outlives a run (`pnpm dev`, `pnpm services up`): kept S3 objects, dev credentials. */
export const LOCAL_DATA_DIR = path.join(STATE_DIR, 'data');

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** A JSON file written by a process that must still be alive, or undefined (a stale file is removed). */
function readLive<T extends { pid: number }>(file: string): T | undefined {
  let state: T;
  try {
    state = JSON.parse(fs.readFileSync(file, 'utf8')) as T;
  } catch {
    return undefined;
  }
  if (isAlive(state.pid)) return state;
  fs.rmSync(file, { force: true });
  return undefined;
}

function writeAtomically(file: string, value: unknown): void {
  fs.mkdirSync(STATE_DIR, { recursive: true });
  fs.writeFileSync(`${file}.tmp`, JSON.stringify(value, null, 2), { mode: 0o600 });
  fs.renameSync(`${file}.tmp`, file);
}

/** The running supervisor's state, or undefined. */
export const readState = () => readLive<SupervisorState>(STATE_FILE);
export const writeState = (state: SupervisorState) => writeAtomically(STATE_FILE, state);
export const removeState = () => fs.rmSync(STATE_FILE, { force: true });

/** The running `pnpm dev`'s session, or undefined. */
export const readDevSession = () => readLive<DevSession>(DEV_SESSION_FILE);
export const writeDevSession = (session: DevSession) => writeAtomically(DEV_SESSION_FILE, session);
export const removeDevSession = () => fs.rmSync(DEV_SESSION_FILE, { force: true });
