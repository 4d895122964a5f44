#!/usr/bin/env node
// `models`: publish a model directory to S3 once, sync a pinned version onto this host, list versions.
// The storage logic is @audio/storage's (publishModel, syncModel); this is its command line. Errors about
// the input (a version that exists, a damaged file, a bad name) print one line and exit 1.
import path from 'node:path';
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { envConfig, fromEnv, integerFromEnv, readEnv, runMain } from '@audio/config';
import { createLogger } from '@audio/logger';
import {
  installedModels,
  listPublishedModels,
  ObjectStore,
  publishModel,
  readStorageConfig,
  syncModel,
} from '@audio/storage';

const USAGE = `usage:
  models publish DIR --name NAME --version VERSION [--json]
  models sync --name NAME --version VERSION [--root MODELS_ROOT] [--keep N] [--verify] [--json]
  models list [--name NAME] [--root MODELS_ROOT] [--json]`;

const modelsEnv = envConfig({
  /** Where synced versions live; the sidecar loads MODELS_ROOT/{name}. */
  root: fromEnv('MODELS_ROOT', z.string().min(1).default('/data/models'), '/data/models'),
  /** Versions of each model kept on a host, the one in use included: 2 leaves one to roll back to. */
  keep: fromEnv('MODELS_KEEP_VERSIONS', integerFromEnv(1, 100).default(2), '2'),
});

const INPUT_ERRORS = new Set([
  'CliUsageError',
  'InvalidKeyError',
  'ObjectExistsError',
  'ModelManifestError',
  'ModelSourceError',
  'ModelSyncError',
]);

class CliUsageError extends Error {
  constructor(message: string) {
    super(`${message}\n${USAGE}`);
    this.name = 'CliUsageError';
  }
}

function parse(argv: string[]) {
  try {
    return parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        name: { type: 'string' },
        version: { type: 'string' },
        root: { type: 'string' },
        keep: { type: 'string' },
        verify: { type: 'boolean' },
        json: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (error) {
    throw new CliUsageError((error as Error).message);
  }
}

function required(value: string | undefined, option: string): string {
  if (!value) throw new CliUsageError(`--${option} is required`);
  return value;
}

async function main(argv: string[]): Promise<void> {
  const { values, positionals } = parse(argv);
  const [command, ...rest] = positionals;
  if (values.help || !command) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  const env = readEnv(modelsEnv);
  const logger = createLogger({ name: 'models', destination: process.stderr });
  const store = ObjectStore.fromConfig(readStorageConfig(), { logger });
  const print = (line: string) => {
    if (!values.json) process.stdout.write(`${line}\n`);
  };
  const printJson = (value: unknown) => {
    if (values.json) process.stdout.write(`${JSON.stringify(value)}\n`);
  };
  const root = path.resolve(values.root ?? env.root);
  try {
    if (command === 'publish') {
      const dir = rest[0];
      if (!dir || rest.length > 1) throw new CliUsageError('publish takes one directory');
      const result = await publishModel(store, {
        dir,
        name: required(values.name, 'name'),
        version: required(values.version, 'version'),
        logger,
        onFile: (file, action) => print(`${action === 'reused' ? 'already sent' : 'sent'}  ${file.path}`),
      });
      const { manifest } = result;
      print(
        `published ${manifest.name} ${manifest.version}: ${manifest.files.length} files, ` +
          `${manifest.totalBytes} bytes (${result.reused.length} sent before), manifest ${result.manifestKey}, ` +
          `overwrite refused by ${result.createOnly}`,
      );
      printJson(result);
    } else if (command === 'sync') {
      if (rest.length > 0) throw new CliUsageError('sync takes no positional arguments');
      const keep = values.keep === undefined ? env.keep : Number(values.keep);
      if (!Number.isInteger(keep) || keep < 1) throw new CliUsageError(`--keep must be a whole number ≥ 1`);
      const result = await syncModel(store, {
        name: required(values.name, 'name'),
        version: required(values.version, 'version'),
        root,
        keep,
        verify: values.verify ?? false,
        logger,
        onFile: (file, action) => print(`${action === 'reused' ? 'present' : 'fetched'}  ${file.path}`),
      });
      // "already": nothing fetched and the link was there before (Ansible's changed_when reads it).
      const unchanged = result.fetched.length === 0 && !result.switched;
      print(
        `${result.name} ${result.version} ${unchanged ? 'already ' : ''}in use at ${path.join(root, result.name)} ` +
          `(${result.fetched.length} files fetched, ${result.bytesFetched} bytes; ${result.reused.length} present` +
          `${result.previous ? `; was ${result.previous}` : ''}` +
          `${result.removed.length ? `; removed ${result.removed.join(', ')}` : ''})`,
      );
      printJson(result);
    } else if (command === 'list') {
      const published = await listPublishedModels(store, values.name ? { name: values.name } : {});
      const installed = await installedModels(root);
      const inUse = new Map(installed.map((m) => [m.name, m.version]));
      for (const m of published)
        print(
          `${m.name}\t${m.version}\t${m.publishedAt?.toISOString() ?? ''}` +
            `${inUse.get(m.name) === m.version ? `\tin use at ${root}` : ''}`,
        );
      if (published.length === 0) print('no model is published');
      printJson({ published, installed, root });
    } else {
      throw new CliUsageError(`unknown command ${JSON.stringify(command)}`);
    }
  } catch (error) {
    if (!(error instanceof Error) || !INPUT_ERRORS.has(error.name)) throw error;
    process.stderr.write(`models: ${error.message}\n`);
    process.exitCode = 1;
  } finally {
    store.destroy();
  }
}

runMain(() => main(process.argv.slice(2)));
