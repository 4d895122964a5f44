import crypto from 'node:crypto';
import { Command, CommanderError, Option } from 'commander';
import { ConfigError } from '@audio/config';
import {
  createDb,
  DbInputError,
  RA_ROLES,
  readDbConfig,
  ReviewerRepository,
  UsernameTakenError,
  type RaRole,
} from '@audio/db';
import type { CliIo } from '../operations/health-command.js';
import { AccountError, UserAccounts } from './user-accounts.js';

/**
 * `users list | create | set-role | set-password | deactivate | activate`: dashboard accounts for
 * operators. Passwords come from stdin (`--password-stdin`) or are generated and printed once; they
 * never appear in the process list or shell history.
 */
export async function runUsersCli(
  argv: string[],
  io: CliIo & { stdin?: () => Promise<string> } = {},
): Promise<number> {
  const env = io.env ?? process.env;
  const out = io.stdout ?? ((text: string) => process.stdout.write(text));
  const err = io.stderr ?? ((text: string) => process.stderr.write(text));
  const readStdin = io.stdin ?? readAllStdin;
  const withAccounts = async <T>(work: (accounts: UserAccounts) => Promise<T>): Promise<T> => {
    const db = createDb({ ...readDbConfig(env), poolSize: 1 });
    try {
      return await work(new UserAccounts(new ReviewerRepository(db)));
    } finally {
      await db.close();
    }
  };
  const password = async (
    fromStdin: boolean | undefined,
  ): Promise<{ password: string; generated: boolean }> => {
    if (fromStdin) return { password: (await readStdin()).replace(/\r?\n$/, ''), generated: false };
    return { password: crypto.randomBytes(18).toString('base64url'), generated: true };
  };
  const role = new Option('--role <role>', 'admin, ops, viewer or reviewer')
    .choices(RA_ROLES)
    .makeOptionMandatory();

  const program = new Command('users')
    .description(
      'Dashboard accounts (ra_users). Roles: admin, ops (Bull Board with retry/delete), viewer (read-only), reviewer (review UI only).',
    )
    .exitOverride()
    .configureOutput({ writeOut: out, writeErr: err });
  program
    .command('list')
    .description('every account with its role and state')
    .action(() =>
      withAccounts(async (accounts) => {
        for (const u of await accounts.list()) {
          out(
            `${u.username}\t${u.role}\t${u.active ? 'active' : 'deactivated'}\t${u.createdAt.toISOString()}\n`,
          );
        }
      }),
    );
  program
    .command('create <username>')
    .description('create an account; prints a generated password unless --password-stdin')
    .addOption(role)
    .option('--password-stdin', 'read the password from stdin')
    .action((username: string, options: { role: RaRole; passwordStdin?: boolean }) =>
      withAccounts(async (accounts) => {
        const secret = await password(options.passwordStdin);
        await accounts.create(username, secret.password, options.role);
        out(`created ${username} (${options.role})\n`);
        if (secret.generated) out(`password: ${secret.password}\n`);
      }),
    );
  program
    .command('set-role <username> <role>')
    .description('change the role of an account')
    .action((username: string, newRole: string) =>
      withAccounts(async (accounts) => {
        await accounts.setRole(username, newRole as RaRole);
        out(`${username} is now ${newRole}\n`);
      }),
    );
  program
    .command('set-password <username>')
    .description('set a new password; prints a generated one unless --password-stdin')
    .option('--password-stdin', 'read the password from stdin')
    .action((username: string, options: { passwordStdin?: boolean }) =>
      withAccounts(async (accounts) => {
        const secret = await password(options.passwordStdin);
        await accounts.setPassword(username, secret.password);
        out(`password of ${username} changed\n`);
        if (secret.generated) out(`password: ${secret.password}\n`);
      }),
    );
  for (const [name, active] of [
    ['deactivate', false],
    ['activate', true],
  ] as const) {
    program
      .command(`${name} <username>`)
      .description(
        active
          ? 'allow the account to log in again'
          : 'refuse logins; open sessions end at their next request',
      )
      .action((username: string) =>
        withAccounts(async (accounts) => {
          await accounts.setActive(username, active);
          out(`${username} ${active ? 'activated' : 'deactivated'}\n`);
        }),
      );
  }

  try {
    await program.parseAsync(argv, { from: 'user' });
    return 0;
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode;
    if (error instanceof ConfigError) {
      err(`configuration error: ${error.message}\n`);
      return 2;
    }
    if (
      error instanceof AccountError ||
      error instanceof UsernameTakenError ||
      error instanceof DbInputError
    ) {
      err(`${error.message}\n`);
      return 1;
    }
    throw error;
  }
}

async function readAllStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}
