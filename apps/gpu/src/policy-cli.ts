// `pnpm policy …` (or `node dist/policy-cli.js …`): see policy-command.ts.
import { CommanderError } from 'commander';
import { runMain } from '@audio/config';
import { createDb, readDbConfig } from '@audio/db';
import { buildPolicyCli, POLICY_INPUT_ERRORS } from './policy-command.js';

runMain(async () => {
  try {
    await buildPolicyCli(
      () => createDb(readDbConfig()),
      (line) => process.stdout.write(`${line}\n`),
    ).parseAsync(process.argv);
  } catch (error) {
    if (error instanceof CommanderError) {
      process.exitCode = error.exitCode;
      return;
    }
    if (!(error instanceof Error) || !POLICY_INPUT_ERRORS.has(error.name)) throw error;
    process.stderr.write(`policy: ${error.message}\n`);
    process.exitCode = 1;
  }
});
