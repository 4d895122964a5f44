import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import readline from 'node:readline';

const REPO = path.resolve(import.meta.dirname, '../../..');

export interface AppProcess {
  child: ChildProcess;
  /** JSON log lines the app wrote (pino to stderr), parsed. */
  logs: Record<string, unknown>[];
  waitForLog(
    match: (line: Record<string, unknown>) => boolean,
    timeoutMs?: number,
  ): Promise<Record<string, unknown>>;
  kill(signal: NodeJS.Signals): Promise<number | null>;
}

/**
 * Runs an app's main.ts in its own process, as production does (one process per app per host). Node
 * itself with tsx as a loader (not the tsx CLI, which forks): a SIGKILL reaches the app, not a wrapper.
 */
export function spawnApp(
  app: 'gpu' | 'unpack' | 'transfer' | 'dashboard',
  env: NodeJS.ProcessEnv,
): AppProcess {
  const args = ['--import', 'tsx', '--conditions=development', path.join(REPO, `apps/${app}/src/main.ts`)];
  const child = spawn(process.execPath, args, {
    cwd: REPO,
    env: { ...env, LOG_JSON: '1', NODE_OPTIONS: '' },
    stdio: ['ignore', 'inherit', 'pipe'],
  });
  const logs: Record<string, unknown>[] = [];
  const waiters = new Set<() => void>();
  readline.createInterface({ input: child.stderr! }).on('line', (line) => {
    try {
      logs.push(JSON.parse(line) as Record<string, unknown>);
    } catch {
      logs.push({ msg: line, raw: true });
    }
    for (const wake of waiters) wake();
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return {
    child,
    logs,
    waitForLog(match, timeoutMs = 180_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const found = logs.find(match);
          if (found) {
            waiters.delete(check);
            clearTimeout(timer);
            resolve(found);
          }
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(
            new Error(
              `${app} did not log the expected line in ${timeoutMs} ms; last lines:\n${logs
                .slice(-10)
                .map((l) => JSON.stringify(l))
                .join('\n')}`,
            ),
          );
        }, timeoutMs);
        waiters.add(check);
        check();
      });
    },
    async kill(signal) {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
}
