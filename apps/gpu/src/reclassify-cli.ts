// `pnpm reclassify --policy FILE|VERSION [--batch ID | --since DATE] [--json]` (or node dist/reclassify-cli.js).
import { Command, CommanderError, InvalidArgumentError } from 'commander';
import { runMain } from '@audio/config';
import { createDb, readDbConfig } from '@audio/db';
import { createRedisConnection, readRedisConfig } from '@audio/queues';
import { POLICY_INPUT_ERRORS } from './policy-command.js';
import { reclassify, type ReclassifyProgress } from './reclassify.js';

function date(value: string): Date {
  const parsed = new Date(value);
  if (!/^\d{4}-\d{2}-\d{2}/.test(value) || Number.isNaN(parsed.getTime())) {
    throw new InvalidArgumentError('a date such as 2025-06-22 or 2025-06-22T12:00:00Z');
  }
  return parsed;
}

function describe(p: ReclassifyProgress): string {
  const share = p.total > 0 ? ` (${((100 * p.classified) / p.total).toFixed(1)}%)` : '';
  const waiting =
    p.workers === 0 && p.jobsDone < p.jobs ? ' — no GPU host takes classify jobs right now' : '';
  return `${p.classified}/${p.total} classified${share}, ${p.flagged} flagged, jobs ${p.jobsDone}/${p.jobs}${waiting}`;
}

const program = new Command('reclassify')
  .description('classify stored transcripts under another policy version, on the GPU hosts (no audio)')
  .requiredOption(
    '--policy <file|version>',
    'a policy file (stored as a new version) or a stored VERSION / ID@VERSION',
  )
  .option('--batch <id>', 'only this batch')
  .option('--since <date>', 'only batches transferred since this date', date)
  .option('--job-size <n>', 'transcripts per classify job', (v) => Number.parseInt(v, 10), 200)
  .option('--no-wait', 'queue the jobs and exit')
  .option('--json', 'a JSON summary as the last line of stdout')
  .showHelpAfterError()
  .exitOverride();

runMain(async () => {
  let options;
  try {
    options = program.parse(process.argv).opts<{
      policy: string;
      batch?: string;
      since?: Date;
      jobSize: number;
      wait: boolean;
      json?: boolean;
    }>();
  } catch (error) {
    if (error instanceof CommanderError) return void (process.exitCode = error.exitCode);
    throw error;
  }
  if (options.batch && options.since) {
    process.stderr.write('reclassify: --batch and --since select differently; give one of them\n');
    return void (process.exitCode = 1);
  }
  // Redis and PostgreSQL only: re-classification touches no audio, so no S3 settings are needed.
  const redisConfig = readRedisConfig();
  const db = createDb(readDbConfig());
  const redis = createRedisConnection(redisConfig, 'producer', 'reclassify');
  const connections = { db, redis, prefix: redisConfig.prefix };
  const tty = process.stderr.isTTY;
  let lastLine = 0;
  try {
    const summary = await reclassify(connections, {
      policy: options.policy,
      ...(options.batch ? { batchId: options.batch } : {}),
      ...(options.since ? { since: options.since } : {}),
      jobSize: options.jobSize,
      wait: options.wait,
      onProgress: (p) => {
        if (tty) process.stderr.write(`\r\x1b[2K${describe(p)}`);
        else if (performance.now() - lastLine > 5000 || p.jobsDone === p.jobs) {
          lastLine = performance.now();
          process.stderr.write(`${describe(p)}\n`);
        }
      },
    });
    if (tty) process.stderr.write('\n');
    process.stdout.write(
      `${summary.policyId}@${summary.policyVersion}: run ${summary.runId} queued ${summary.queued} files in ${summary.jobs} jobs; ` +
        `${describe(summary)}; ${summary.failedJobs.length} jobs failed; ${summary.seconds} s\n`,
    );
    for (const failed of summary.failedJobs)
      process.stdout.write(`  failed ${failed.jobId}: ${failed.reason}\n`);
    if (options.json) process.stdout.write(`${JSON.stringify(summary)}\n`);
    if (summary.failedJobs.length > 0) process.exitCode = 1;
  } catch (error) {
    if (!(error instanceof Error) || !POLICY_INPUT_ERRORS.has(error.name)) throw error;
    process.stderr.write(`reclassify: ${error.message}\n`);
    process.exitCode = 1;
  } finally {
    redis.disconnect();
    await db.close();
  }
});
