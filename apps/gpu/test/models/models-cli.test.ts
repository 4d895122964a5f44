// The `models` command line as an operator (and the Ansible playbook) runs it, against Swift.
import { execFile } from 'node:child_process';
import crypto from 'node:crypto';
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { ObjectStore, readStorageConfig } from '@audio/storage';

const CLI = fileURLToPath(new URL('../../src/models-cli.ts', import.meta.url));

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function models(args: string[], env: NodeJS.ProcessEnv = {}): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', '--conditions=development', CLI, ...args],
      { env: { ...process.env, LOG_LEVEL: 'warn', ...env }, cwd: path.dirname(CLI) },
      (error, stdout, stderr) =>
        resolve({ code: error ? Number((error as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

const lastJson = (stdout: string) => JSON.parse(stdout.trim().split('\n').at(-1)!) as Record<string, unknown>;

describe('pnpm models (publish, sync, list) against Swift', () => {
  const name = `cli-model-${crypto.randomBytes(4).toString('hex')}`;
  let dir: string;
  let source: string;
  let root: string;
  let store: ObjectStore;

  beforeAll(async () => {
    dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'models-cli-'));
    source = path.join(dir, 'src');
    root = path.join(dir, 'root');
    await fsp.mkdir(path.join(source, 'sub'), { recursive: true });
    await fsp.writeFile(path.join(source, 'model.bin'), crypto.randomBytes(100_000));
    await fsp.writeFile(path.join(source, 'sub', 'config.json'), '{"a":1}');
    store = ObjectStore.fromConfig(readStorageConfig());
  });

  afterAll(async () => {
    const keys: string[] = [];
    for await (const item of store.listAll(`models/${name}/`)) keys.push(item.key);
    await store.deleteMany(keys);
    store.destroy();
    await fsp.rm(dir, { recursive: true, force: true });
  });

  it('publishes once, refuses the same version again in one line, syncs into MODELS_ROOT and lists', async () => {
    const published = await models(['publish', source, '--name', name, '--version', '1.0', '--json']);
    expect(published.stderr).toBe('');
    expect(published.code).toBe(0);
    expect(lastJson(published.stdout)).toMatchObject({
      manifestKey: `models/${name}/1.0/manifest.json`,
      uploaded: ['model.bin', 'sub/config.json'],
    });

    const again = await models(['publish', source, '--name', name, '--version', '1.0']);
    expect(again.code).toBe(1);
    expect(again.stderr).toBe(
      `models: refused to write models/${name}/1.0/manifest.json: model ${name} version 1.0 is published ` +
        'already; versions are immutable, publish a new one\n',
    );

    // The root from MODELS_ROOT, as the GPU host's environment file sets it.
    const synced = await models(['sync', '--name', name, '--version', '1.0'], { MODELS_ROOT: root });
    expect(synced.code).toBe(0);
    expect(synced.stdout).toContain(`${name} 1.0 in use at ${path.join(root, name)} (2 files fetched`);
    expect(await fsp.readFile(path.join(root, name, 'sub', 'config.json'), 'utf8')).toBe('{"a":1}');
    // Run again (Ansible's second run): nothing to do, and it says "already" (its changed_when).
    const resynced = await models(['sync', '--name', name, '--version', '1.0', '--root', root]);
    expect(resynced.stdout).toContain(
      `${name} 1.0 already in use at ${path.join(root, name)} (0 files fetched`,
    );

    const listed = await models(['list', '--name', name, '--root', root, '--json']);
    expect(lastJson(listed.stdout)).toMatchObject({
      published: [{ name, version: '1.0' }],
      installed: [{ name, version: '1.0' }],
    });
  });

  it('names the damaged file in one line and leaves the model in use alone', async () => {
    await fsp.writeFile(path.join(source, 'model.bin'), crypto.randomBytes(100_000));
    expect((await models(['publish', source, '--name', name, '--version', '2.0'])).code).toBe(0);
    // The object replaced behind the publisher's back: its manifest still has the old sha256.
    const other = path.join(dir, 'other.bin');
    await fsp.writeFile(other, crypto.randomBytes(100_000));
    await store.putFile(other, `models/${name}/2.0/model.bin`);
    const failed = await models(['sync', '--name', name, '--version', '2.0', '--root', root]);
    expect(failed.code).toBe(1);
    expect(failed.stderr).toMatch(
      new RegExp(`^models: model ${name} 2\\.0: model\\.bin does not match its manifest .*\\n$`),
    );
    expect(failed.stderr.split('\n')).toHaveLength(2);
    expect(await fsp.readlink(path.join(root, name))).toBe(`.versions/${name}/1.0`);
  });

  it('explains its usage and refuses a missing option', async () => {
    const run = await models(['sync', '--name', name]);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/^models: --version is required\nusage:/);
  });
});
