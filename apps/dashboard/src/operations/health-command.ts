import { Command, CommanderError } from 'commander';
import { ConfigError } from '@audio/config';
import { createLogger } from '@audio/logger';
import { openConnections } from '@audio/runtime';
import { readHealthSettings } from '../server/dashboard-config.js';
import { HealthChecker, type HealthReport } from './health-check.js';
import { QueueRegistry } from './queue-registry.js';
import { waitForRedis } from '../server/redis-ready.js';

export interface CliIo {
  env?: NodeJS.ProcessEnv;
  stdout?: (text: string) => void;
  stderr?: (text: string) => void;
}

/** Exit codes of the `health` CLI, for cron and Ansible. */
export const HEALTH_EXIT = { healthy: 0, unhealthy: 1, couldNotCheck: 2, degraded: 3 } as const;

/** The /health report computed directly (no HTTP): its own connections, closed afterwards. */
export async function checkHealthFromEnv(env: NodeJS.ProcessEnv): Promise<HealthReport> {
  const settings = readHealthSettings(env);
  const connections = openConnections({
    name: 'dashboard-health',
    role: 'producer',
    env,
    logger: createLogger({ name: 'dashboard-health', level: 'silent' }),
    tune: { db: { poolSize: 2, connectionTimeoutMs: settings.timeoutMs }, storage: { maxAttempts: 1 } },
  });
  const { redis, prefix, db, store } = connections;
  redis.on('error', () => undefined); // reported in the result instead
  const queues = new QueueRegistry(redis, prefix);
  try {
    if (await waitForRedis(redis, settings.timeoutMs)) {
      await queues.discover({ scanKeys: true }).catch(() => undefined);
    }
    return await new HealthChecker({
      redis,
      prefix,
      db,
      store,
      queues,
      settings,
    }).check();
  } finally {
    await queues.close();
    await connections.close();
  }
}

/**
 * `health [--compact]`: prints the same JSON as GET /health; exit 0 healthy, 1 unhealthy, 2 when the
 * check itself could not run (bad configuration, a crash), 3 degraded (batches or files failed in the
 * last 24 h, or the noon forecast passes the deadline: nothing is down yet).
 */
export async function runHealthCli(argv: string[], io: CliIo = {}): Promise<number> {
  const env = io.env ?? process.env;
  const out = io.stdout ?? ((text: string) => process.stdout.write(text));
  const err = io.stderr ?? ((text: string) => process.stderr.write(text));
  let exitCode: number = HEALTH_EXIT.couldNotCheck;
  const program = new Command('health')
    .description(
      'Checks Redis, Postgres, S3, queues, hosts, stuck batches and the noon target; prints the JSON of GET /health. ' +
        'Exit 0 healthy, 1 unhealthy, 2 could not check, 3 degraded (failures in the last 24 h, or the noon forecast passes the deadline).',
    )
    .option('--compact', 'print the JSON on one line')
    .exitOverride()
    .configureOutput({ writeOut: out, writeErr: err })
    .action(async (options: { compact?: boolean }) => {
      const report = await checkHealthFromEnv(env);
      out(`${JSON.stringify(report, null, options.compact ? undefined : 2)}\n`);
      exitCode = HEALTH_EXIT[report.status];
    });
  try {
    await program.parseAsync(argv, { from: 'user' });
    return exitCode;
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode === 0 ? 0 : HEALTH_EXIT.couldNotCheck;
    const message = error instanceof ConfigError ? `configuration error: ${error.message}` : String(error);
    err(`health could not check: ${message}\n`);
    return HEALTH_EXIT.couldNotCheck;
  }
}
