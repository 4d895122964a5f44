// `pnpm --filter @audio/dashboard users <command>` (or `node dist/users-cli.js`): dashboard accounts.
import { runUsersCli } from './auth/users-command.js';

process.exitCode = await runUsersCli(process.argv.slice(2));
