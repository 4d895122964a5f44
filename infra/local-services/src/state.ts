import fs from 'node:fs';
import path from 'node:path';
import type { ServiceReport } from './services.js';

/** `pnpm services up` leaves a supervisor process running; this file says where it and its services are. */
export interface SupervisorState {
  pid: number;
  env: Record<string, string>;
  reports: ServiceReport[];
  /** Processes of the started services, for `down` when the supervisor itself is gone. */
  pids: number[];
  startedAt: string;
}

export const STATE_DIR = path.resolve(import.meta.dirname, '../../../.local-services');
export const STATE_FILE = path.join(STATE_DIR, 'state.json');
export const SUPERVISOR_LOG = path.join(STATE_DIR, 'supervisor.log');

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** The running supervisor's state, or undefined (a stale file of a dead supervisor is removed). */
export function readState(): SupervisorState | undefined {
  let state: SupervisorState;
  try {
    state = JSON.parse(fs.readFileSync(STATE_FILE, 'utf8')) as SupervisorState;
  } catch {
    return undefined;
  }
  if (isAlive(state.pid)) return state;
  fs.rmSync(STATE_FILE, { force: true });
  return undefined;
}

export function writeState(state: SupervisorState): void {
  fs.mkdirSync(STATE_DIR, { recursive: true });
  fs.writeFileSync(`${STATE_FILE}.tmp`, JSON.stringify(state, null, 2));
  fs.renameSync(`${STATE_FILE}.tmp`, STATE_FILE);
}

export function removeState(): void {
  fs.rmSync(STATE_FILE, { force: true });
}
