#!/usr/bin/env node
// The `transfer` command line (bin). Errors about the input (a file that is not a tar archive, a batch
// that cannot be replayed, a wrong option) print one line; anything else its stack.
import { runMain } from '@audio/config';
import { buildCli } from './cli-program.js';

const INPUT_ERRORS = new Set([
  'CliUsageError',
  'InvalidArchiveError',
  'ArchiveConflictError',
  'UploadVerificationError',
  'ReplayError',
  'HostKeyMismatchError',
  'InvalidKeyError',
  'InvalidBatchIdError',
  'ConflictingRecordError',
  'UploadClientExistsError',
  'DbInputError',
  'PushError',
]);

runMain(async () => {
  try {
    await buildCli().parseAsync(process.argv);
  } catch (error) {
    if (!(error instanceof Error) || !INPUT_ERRORS.has(error.name)) throw error;
    process.stderr.write(`transfer: ${error.message}\n`);
    process.exitCode = 1;
  }
});
