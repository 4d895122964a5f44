// `pnpm policy add|list|activate|sampling`: the policy versions in the `policies` table.
import path from 'node:path';
import { Command, InvalidArgumentError } from 'commander';
import { PolicyRepository, type Db } from '@audio/db';
import { addPolicyFile } from './policy-store.js';

/** Errors about the input: printed as one line, exit code 1. */
export const POLICY_INPUT_ERRORS = new Set([
  'PolicyFileError',
  'PolicyNotFoundError',
  'ConflictingRecordError',
  'DbInputError',
  'CliUsageError',
]);

export class CliUsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CliUsageError';
  }
}

function share(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n < 0 || n > 1) {
    throw new InvalidArgumentError('a share between 0 and 1, e.g. 0.1');
  }
  return n;
}

export function buildPolicyCli(openDb: () => Db, write: (line: string) => void): Command {
  const program = new Command('policy')
    .description('policy versions: store policy files, list them, choose the active one')
    .showHelpAfterError()
    .exitOverride();
  const withPolicies = async <T>(work: (policies: PolicyRepository) => Promise<T>): Promise<T> => {
    const db = openDb();
    try {
      return await work(new PolicyRepository(db));
    } finally {
      await db.close();
    }
  };

  program
    .command('add')
    .description('store a policy file as a version (adding the same file again changes nothing)')
    .argument('<file>', 'policy JSON file (id, version, title, sections)')
    .option(
      '--version <version>',
      'the version the file must declare (a check against adding the wrong file)',
    )
    .option('--activate', 'make it the active version: new batches and the review queue use it')
    .option('--json', 'one JSON object on stdout')
    .action(async (file: string, opts: { version?: string; activate?: boolean; json?: boolean }) =>
      withPolicies(async (policies) => {
        const { policy, created } = await addPolicyFile(policies, path.resolve(file));
        if (opts.version !== undefined && opts.version !== policy.version) {
          throw new CliUsageError(
            `${file} declares version ${JSON.stringify(policy.version)}, not ${JSON.stringify(opts.version)}: ` +
              'the version is part of the file (its sha256 covers it); edit the file or drop --version',
          );
        }
        if (opts.activate) await policies.activate(policy.id, policy.version);
        const result = {
          id: policy.id,
          version: policy.version,
          sha256: policy.sha256,
          created,
          active: Boolean(opts.activate) || (await policies.active())?.sha256 === policy.sha256,
        };
        write(
          opts.json
            ? JSON.stringify(result)
            : `${policy.id}@${policy.version} (sha256 ${policy.sha256.slice(0, 12)}…) ${created ? 'stored' : 'already stored'}${result.active ? ', active' : ''}`,
        );
      }),
    );

  program
    .command('list')
    .description('every stored version, newest first, with its counts')
    .option('--json', 'one JSON object per version')
    .action(async (opts: { json?: boolean }) =>
      withPolicies(async (policies) => {
        for (const p of await policies.list()) {
          const row = {
            id: p.id,
            version: p.version,
            sha256: p.sha256,
            title: p.title,
            active: p.active,
            createdAt: p.createdAt.toISOString(),
            classified: p.classified,
            flagged: p.flagged,
            doubleReviewShare: p.doubleReviewShare,
            controlShare: p.controlShare,
          };
          write(
            opts.json
              ? JSON.stringify(row)
              : `${p.active ? '*' : ' '} ${p.id}@${p.version}  ${p.title}  classified ${p.classified}, flagged ${p.flagged}` +
                  `  double review ${p.doubleReviewShare}, control ${p.controlShare}  ${row.createdAt}`,
          );
        }
      }),
    );

  program
    .command('activate')
    .description('make a stored version the active one (GPU hosts pick it up within POLICY_REFRESH)')
    .argument('<version>', 'VERSION, or ID@VERSION when two policies share a version')
    .action(async (reference: string) =>
      withPolicies(async (policies) => {
        const found = await policies.find(reference);
        const policy = await policies.activate(found.id, found.version);
        write(`${policy.id}@${policy.version} is active`);
      }),
    );

  program
    .command('sampling')
    .description("a version's review sampling: flagged items reviewed twice, unflagged items as a control")
    .argument('<version>', 'VERSION or ID@VERSION')
    .option('--double-review <share>', 'share of flagged items that a second reviewer labels too', share)
    .option('--control <share>', 'share of unflagged items that go to review as a control sample', share)
    .action(async (reference: string, opts: { doubleReview?: number; control?: number }) =>
      withPolicies(async (policies) => {
        const found = await policies.find(reference);
        const policy = await policies.setSampling(found.id, found.version, {
          ...(opts.doubleReview !== undefined ? { doubleReviewShare: opts.doubleReview } : {}),
          ...(opts.control !== undefined ? { controlShare: opts.control } : {}),
        });
        write(
          `${policy.id}@${policy.version}: double review ${policy.doubleReviewShare}, control ${policy.controlShare}`,
        );
      }),
    );
  return program;
}
