// `pnpm export:labels --format csv|jsonl [--policy V]` (or node dist/export-labels-cli.js): every label
// with its transcript, scores, policy version, reviewer and times, streamed to stdout.
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Command, CommanderError, Option } from 'commander';
import { runMain } from '@audio/config';
import { createDb, PolicyRepository, readDbConfig } from '@audio/db';
import {
  LABEL_EXPORT_FORMATS,
  labelExportChunks,
  type LabelExportFormat,
} from './research/label-export-format.js';

const program = new Command('export:labels')
  .description('every label with its transcript, scores, policy version, reviewer and times, to stdout')
  .addOption(
    new Option('--format <format>', 'csv or jsonl').choices(LABEL_EXPORT_FORMATS).makeOptionMandatory(),
  )
  .option('--policy <version>', "only this version's classifications (VERSION or ID@VERSION)")
  .showHelpAfterError()
  .exitOverride();

runMain(async () => {
  let options: { format: LabelExportFormat; policy?: string };
  try {
    options = program.parse(process.argv).opts();
  } catch (error) {
    if (error instanceof CommanderError) return void (process.exitCode = error.exitCode);
    throw error;
  }
  const db = createDb(readDbConfig());
  try {
    let policy;
    if (options.policy) {
      try {
        policy = await new PolicyRepository(db).find(options.policy);
      } catch (error) {
        process.stderr.write(`export:labels: ${(error as Error).message}\n`);
        return void (process.exitCode = 1);
      }
    }
    await pipeline(
      Readable.from(labelExportChunks(db, options.format, policy ? { policy } : {})),
      process.stdout,
    );
  } finally {
    await db.close();
  }
});
