// The `transfer` commands: ingest archives, plain uploads, SFTP and inbox pulls, replays, the service.
import fs from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { Command } from 'commander';
import { createDb, UPLOAD_CLIENT_SCOPES, UploadClientRepository, type UploadClientScope } from '@audio/db';
import { createLogger, type Logger } from '@audio/logger';
import { closeOnSignals } from '@audio/queues';
import { ArchiveUploader, ObjectStore, readStorageConfig } from '@audio/storage';
import { readTransferConfig } from './config.js';
import { InboxSource } from './inbox-source.js';
import { FileProgressBar } from './progress-bar.js';
import { pushArchive } from './push-client.js';
import { replayBatch } from './replay.js';
import { formatAuditReport, StorageAudit } from './storage-audit.js';
import { SftpSource } from './sftp-source.js';
import { startTransferApp } from './transfer-app.js';
import { openTransferContext, type TransferContext } from './transfer-context.js';
import { UploadClients } from './upload-clients.js';

/** A command used wrongly; the CLI prints the message without a stack trace. */
export class CliUsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CliUsageError';
  }
}

/** While a progress bar owns the terminal, only warnings reach stderr (unless LOG_LEVEL says otherwise). */
function cliLogger(quietOnTty: boolean): Logger {
  const quiet = quietOnTty && process.stderr.isTTY && !process.env.LOG_LEVEL;
  return createLogger({ name: 'transfer', ...(quiet ? { level: 'warn' } : {}) });
}

function print(json: boolean, value: unknown, text: string): void {
  process.stdout.write(json ? `${JSON.stringify(value)}\n` : `${text}\n`);
}

export function buildCli(): Command {
  const program = new Command('transfer')
    .description('Moves tar archives of MP3s into the pipeline: S3 archive, batch row, unpack job')
    .showHelpAfterError();

  program
    .command('ingest')
    .description('ingest local tar archives: upload, verify, batch row, unpack job (one batch per file)')
    .argument('<files...>', 'tar archives')
    .option('--source <source>', 'recorded as the batch source (default: the file URL)')
    .option('--batch-id <id>', 'use this batch id (one file only); default: a new one')
    .option('--json', 'one JSON object per file on stdout')
    .action(async (files: string[], opts: { source?: string; batchId?: string; json?: boolean }) => {
      if (opts.batchId && files.length > 1)
        throw new CliUsageError('--batch-id takes one file; give one file per command');
      const context = await openTransferContext({ logger: cliLogger(true) });
      try {
        for (const file of files) {
          const absolute = path.resolve(file);
          const bar = new FileProgressBar(path.basename(file));
          try {
            const result = await context.ingester.ingest(absolute, {
              source: opts.source ?? pathToFileURL(absolute).href,
              ...(opts.batchId ? { batchId: opts.batchId } : {}),
              onProgress: (p) => bar.update(p),
            });
            bar.stop();
            print(
              Boolean(opts.json),
              { file, ...result },
              `${file} → batch ${result.batchId} (${result.archiveKey}, ${result.sizeBytes} bytes, sha256 ${result.sha256})` +
                `${result.duplicateOf ? ' [the same archive was ingested before: linked to that batch, nothing queued]' : result.created ? '' : ' [already ingested]'}` +
                `${result.queued ? ', unpack job queued' : ''}`,
            );
          } catch (error) {
            bar.stop();
            process.exitCode = 1;
            const message = error instanceof Error ? error.message : String(error);
            if (opts.json) print(true, { file, error: message }, '');
            else process.stderr.write(`${file}: ${message}\n`);
          }
        }
      } finally {
        await context.close();
      }
    });

  program
    .command('upload')
    .description('upload one file to a key of the bucket (resumable, with sha256 metadata); no batch')
    .argument('<file>', 'local file')
    .argument('<key>', 'object key, e.g. models/whisperx/large-v3/model.bin')
    .option('--json', 'print the result as JSON')
    .action(async (file: string, key: string, opts: { json?: boolean }) => {
      const stat = await fs.stat(file).catch(() => undefined);
      if (!stat?.isFile()) throw new CliUsageError(`${file} is not a readable regular file`);
      const logger = cliLogger(true);
      const store = ObjectStore.fromConfig(readStorageConfig(), { logger });
      const uploader = new ArchiveUploader(store, { stateDir: readTransferConfig().stateDir, logger });
      const bar = new FileProgressBar(path.basename(file));
      uploader.on('progress', (p) => bar.update(p));
      try {
        const result = await uploader.upload(path.resolve(file), key);
        bar.stop();
        print(
          Boolean(opts.json),
          result,
          `${file} → ${result.key} (${result.size} bytes, sha256 ${result.sha256})`,
        );
      } finally {
        bar.stop();
        store.destroy();
      }
    });

  program
    .command('sftp-pull')
    .description('pull archives from SFTP_HOST:SFTP_REMOTE_DIR (a loop; --once: one poll)')
    .option('--once', 'poll once, print what happened, exit (1 when a file failed)')
    .action(async (opts: { once?: boolean }) => {
      const context = await openTransferContext({ logger: cliLogger(false) });
      const sftpConfig = context.config.sftp;
      if (!sftpConfig) {
        await context.close();
        throw new CliUsageError('SFTP_HOST is not set: nothing to pull from');
      }
      const source = new SftpSource(sftpConfig, {
        ingester: context.ingester,
        tempDir: context.config.tempDir,
        logger: context.logger,
      });
      await runSource(context, source, opts.once ? () => source.pollOnce() : undefined);
    });

  program
    .command('inbox')
    .description('take archives dropped into a directory (a loop; --once: one round)')
    .argument('<dir>', 'the inbox directory (overrides INBOX_DIR)')
    .option('--once', 'look twice, a poll interval apart, ingest what was stable, exit')
    .action(async (dir: string, opts: { once?: boolean }) => {
      const context = await openTransferContext({
        env: { ...process.env, INBOX_DIR: path.resolve(dir) },
        logger: cliLogger(false),
      });
      const source = new InboxSource(context.config.inbox!, {
        ingester: context.ingester,
        logger: context.logger,
      });
      // --once looks twice, a poll interval apart: a file is taken only once its size was stable.
      const twice = async () => {
        await source.pollOnce();
        await sleep(context.config.inbox!.pollIntervalMs);
        return source.pollOnce();
      };
      await runSource(context, source, opts.once ? twice : undefined);
    });

  program
    .command('replay')
    .description('run a batch again from its archive in S3 (e.g. after its host died)')
    .argument('<batchId>', 'e.g. 20250622-143052-a1b2c3')
    .option('--force', 'queue a run even though the first unpack job has not started yet')
    .option('--json', 'print the result as JSON')
    .action(async (batchId: string, opts: { force?: boolean; json?: boolean }) => {
      const context = await openTransferContext({ logger: cliLogger(false) });
      try {
        const result = await replayBatch(batchId, context, { force: Boolean(opts.force) });
        print(
          Boolean(opts.json),
          result,
          `queued unpack job ${result.jobId} (run ${result.run}) for batch ${result.batchId} from ${result.s3Key}; ` +
            `the batch was ${result.previousStatus}` +
            (result.firstJobState ? `, its first unpack job is ${result.firstJobState}` : ''),
        );
      } finally {
        await context.close();
      }
    });

  program
    .command('push')
    .description(
      'send an archive through the upload API (no S3 credentials): parallel parts, resumable, sha256 checked; ' +
        'the batch starts by itself',
    )
    .argument('<file>', 'a tar archive')
    .option('--api <url>', 'the upload API, e.g. https://ingest.example.org (default: $UPLOAD_API_URL)')
    .option(
      '--token <token>',
      'your client token (default: $UPLOAD_CLIENT_TOKEN; the variable keeps it out of ps)',
    )
    .option('--state <file>', 'resume state file (default: under ~/.local/state/audio-transfer/push)')
    .option('--concurrency <n>', 'parts in flight at once', '4')
    .option('--json', 'print the result as JSON')
    .action(
      async (
        file: string,
        opts: { api?: string; token?: string; state?: string; concurrency: string; json?: boolean },
      ) => {
        const api = opts.api ?? process.env.UPLOAD_API_URL;
        const token = opts.token ?? process.env.UPLOAD_CLIENT_TOKEN;
        if (!api) throw new CliUsageError('--api URL (or UPLOAD_API_URL) is required');
        if (!/^https?:\/\//.test(api)) throw new CliUsageError(`--api must be an http(s) URL, not ${api}`);
        if (!token) throw new CliUsageError('--token (or UPLOAD_CLIENT_TOKEN) is required');
        const concurrency = Number(opts.concurrency);
        if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 64)
          throw new CliUsageError(
            `--concurrency must be a whole number from 1 to 64, not ${opts.concurrency}`,
          );
        const hashing = new FileProgressBar(`sha256 ${path.basename(file)}`);
        const bar = new FileProgressBar(path.basename(file));
        try {
          const result = await pushArchive({
            api,
            token,
            file,
            concurrency,
            ...(opts.state ? { statePath: path.resolve(opts.state) } : {}),
            onHashProgress: (p) => hashing.update(p),
            onProgress: (p) => {
              hashing.stop();
              bar.update(p);
            },
            logger: cliLogger(true),
          });
          bar.stop();
          print(
            Boolean(opts.json),
            { file, ...result },
            `${file} → batch ${result.batchId} (${result.sizeBytes} bytes, sha256 ${result.sha256} verified)` +
              `${result.resumed ? `, resumed: ${result.partsSkipped} parts were already there` : ''}` +
              `${result.created ? ', unpack job queued' : ' [already completed]'}`,
          );
        } finally {
          hashing.stop();
          bar.stop();
        }
      },
    );

  const clients = program
    .command('clients')
    .description("the upload API's clients: each has its own token (stored hashed) and scope");
  clients
    .command('add')
    .description('create a client and print its token (shown once; only its sha256 is stored)')
    .argument('<name>', 'e.g. acme-recordings (letters, digits, ".", "_", "-"; named in every log line)')
    .requiredOption('--scope <scope>', `${UPLOAD_CLIENT_SCOPES.join(' or ')}`)
    .option('--json', 'print the result as JSON')
    .action(async (name: string, opts: { scope: string; json?: boolean }) => {
      if (!(UPLOAD_CLIENT_SCOPES as readonly string[]).includes(opts.scope))
        throw new CliUsageError(`--scope must be ${UPLOAD_CLIENT_SCOPES.join(' or ')}, not ${opts.scope}`);
      await withClients(async (registry) => {
        const { client, token } = await registry.add(name, opts.scope as UploadClientScope);
        print(
          Boolean(opts.json),
          { name: client.name, scope: client.scope, token, createdAt: client.createdAt },
          `client ${client.name} (scope ${client.scope}); its token, shown only now:\n${token}`,
        );
      });
    });
  clients
    .command('list')
    .description('every client: name, scope, token prefix, created, revoked')
    .option('--json', 'one JSON array')
    .action(async (opts: { json?: boolean }) => {
      await withClients(async (registry) => {
        const rows = (await registry.list()).map((c) => ({
          name: c.name,
          scope: c.scope,
          tokenPrefix: c.tokenPrefix,
          createdAt: c.createdAt.toISOString(),
          revokedAt: c.revokedAt?.toISOString() ?? null,
        }));
        const text = rows.length
          ? rows
              .map(
                (r) =>
                  `${r.name}\t${r.scope}\t${r.tokenPrefix}…\tcreated ${r.createdAt}` +
                  (r.revokedAt ? `\tREVOKED ${r.revokedAt}` : ''),
              )
              .join('\n')
          : 'no clients yet: transfer clients add NAME --scope upload';
        print(Boolean(opts.json), rows, text);
      });
    });
  clients
    .command('revoke')
    .description('revoke a client: its token stops working at once (the name stays taken)')
    .argument('<name>')
    .action(async (name: string) => {
      await withClients(async (registry) => {
        const client = await registry.revoke(name);
        if (!client) throw new CliUsageError(`no client named ${name} (transfer clients list)`);
        print(false, client, `client ${client.name} revoked at ${client.revokedAt!.toISOString()}`);
      });
    });

  program
    .command('audit')
    .description(
      'compare the database with the bucket: missing Opus objects, orphan Opus objects and archives, ' +
        'batches whose archive is gone, assignments on audio that cannot be played; exit 1 while any remain',
    )
    .option('--repair', 'make the safe repairs (each finding says what it does; nothing is deleted outright)')
    .option('--grace-hours <hours>', 'objects younger than this are never orphans', '24')
    .option('--force', 'move orphans even when they are most of the bucket (a wrong database?)')
    .option('--json', 'print the report as JSON')
    .action(async (opts: { repair?: boolean; graceHours: string; force?: boolean; json?: boolean }) => {
      const graceHours = Number(opts.graceHours);
      if (!Number.isFinite(graceHours) || graceHours < 0) {
        throw new CliUsageError(`--grace-hours must be a number of hours ≥ 0, got ${opts.graceHours}`);
      }
      const context = await openTransferContext({ logger: cliLogger(false) });
      try {
        const report = await new StorageAudit(context).run({
          repair: Boolean(opts.repair),
          force: Boolean(opts.force),
          graceMs: graceHours * 3_600_000,
        });
        if (opts.json) print(true, report, '');
        else process.stdout.write(formatAuditReport(report));
        if (report.findings.some((f) => !f.repaired)) process.exitCode = 1;
      } finally {
        await context.close();
      }
    });

  program
    .command('serve')
    .description('run the upload API and every configured source until SIGTERM')
    .action(async () => {
      await serve();
    });

  return program;
}

/** The clients' registry on the database alone (no Redis or S3 needed to manage tokens). */
async function withClients(action: (registry: UploadClients) => Promise<void>): Promise<void> {
  const db = createDb();
  try {
    await action(new UploadClients(new UploadClientRepository(db)));
  } finally {
    await db.close();
  }
}

/** The long-running service: what `src/main.ts` runs. */
export async function serve(): Promise<void> {
  const logger = createLogger({ name: 'transfer' });
  const app = await startTransferApp({ logger });
  closeOnSignals([app], { timeoutMs: app.context.config.shutdownTimeoutMs, logger });
}

/**
 * Runs a polling source: one round (`once`), printing what it did and exiting 1 when a file failed, or
 * a loop until SIGTERM/SIGINT, finishing the file in progress first.
 */
async function runSource(
  context: TransferContext,
  source: { start(): void; close(force?: boolean): Promise<void> },
  once: (() => Promise<{ failed: unknown[] }>) | undefined,
): Promise<void> {
  if (once) {
    try {
      const result = await once();
      print(true, result, '');
      if (result.failed.length > 0) process.exitCode = 1;
    } finally {
      await source.close();
      await context.close();
    }
    return;
  }
  source.start();
  closeOnSignals([source], {
    timeoutMs: context.config.shutdownTimeoutMs,
    logger: context.logger,
    after: () => context.close(),
  });
}
