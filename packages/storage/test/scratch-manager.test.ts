import fsp from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { ConfigError } from '@audio/config';
import {
  InsufficientScratchError,
  InvalidKeyError,
  ScratchEscapeError,
  ScratchManager,
} from '../src/index.js';
import { makeTempDir } from './support/index.js';

const BATCH = '20250622-143052-a1b2c3';

describe('ScratchManager', () => {
  let root: string;
  let outside: string;
  let scratch: ScratchManager;

  beforeAll(async () => {
    const base = await makeTempDir('scratch-test-');
    root = path.join(base, 'scratch');
    outside = path.join(base, 'outside');
    await fsp.mkdir(outside);
    scratch = new ScratchManager({ root, minFreeBytes: 0 });
  });

  afterAll(async () => {
    await fsp.rm(path.dirname(root), { recursive: true, force: true });
  });

  it('creates one directory per batch under the root', async () => {
    const dir = await scratch.create(BATCH);
    expect(dir).toBe(path.join(root, BATCH));
    expect((await fsp.stat(dir)).isDirectory()).toBe(true);
    expect(await scratch.create(BATCH)).toBe(dir);
    expect(() => scratch.batchDir('../etc')).toThrow(InvalidKeyError);
  });

  it('resolves paths inside the batch directory', () => {
    expect(scratch.resolve(BATCH, 'a/b.opus')).toBe(path.join(root, BATCH, 'a/b.opus'));
    expect(scratch.resolve(BATCH, './c.mp3')).toBe(path.join(root, BATCH, 'c.mp3'));
  });

  it.each([
    ['../other/x', '".." segment'],
    ['a/../../x', '".." segment'],
    ['/etc/passwd', 'absolute'],
    ['a\u0000b', 'NUL'],
    ['', 'empty'],
  ])('refuses %j with a ScratchEscapeError (%s)', (relative, reason) => {
    expect(() => scratch.resolve(BATCH, relative)).toThrow(ScratchEscapeError);
    expect(() => scratch.resolve(BATCH, relative)).toThrow(reason);
  });

  it('refuses paths that leave through a symlink, dangling or not', async () => {
    const dir = await scratch.create(BATCH);
    await fsp.symlink(outside, path.join(dir, 'escape'));
    await fsp.symlink(path.join(outside, 'not-yet'), path.join(dir, 'dangling'));
    await fsp.mkdir(path.join(dir, 'real'));
    await fsp.symlink(path.join(dir, 'real'), path.join(dir, 'inner'));
    expect(() => scratch.resolve(BATCH, 'escape/file.opus')).toThrow(/symlink/);
    expect(() => scratch.resolve(BATCH, 'escape')).toThrow(ScratchEscapeError);
    expect(() => scratch.resolve(BATCH, 'dangling')).toThrow(/dangling symlink/);
    expect(scratch.resolve(BATCH, 'inner/file.opus')).toBe(path.join(dir, 'inner/file.opus'));
  });

  it('checks free space before work', async () => {
    expect(await scratch.freeBytes()).toBeGreaterThan(0);
    await expect(scratch.ensureFreeSpace(1024)).resolves.toBeUndefined();
    const strict = new ScratchManager({ root, minFreeBytes: Number.MAX_SAFE_INTEGER });
    await expect(strict.ensureFreeSpace(1024)).rejects.toThrow(InsufficientScratchError);
    await expect(strict.ensureFreeSpace(1024)).rejects.toThrow(/not enough scratch space under/);
  });

  it('removes a batch directory idempotently, leaving symlink targets alone', async () => {
    const dir = await scratch.create(BATCH);
    await fsp.writeFile(path.join(outside, 'keep.txt'), 'x');
    await fsp.writeFile(path.join(dir, 'file.opus'), 'x');
    expect(await scratch.remove(BATCH)).toBe(true);
    expect(await scratch.remove(BATCH)).toBe(false);
    await expect(fsp.stat(dir)).rejects.toThrow(/ENOENT/);
    expect(await fsp.readFile(path.join(outside, 'keep.txt'), 'utf8')).toBe('x');
  });

  it('sweeps stale batch directories that no running batch owns', async () => {
    const old = new Date(Date.now() - 3 * 3600_000);
    const ids = {
      active: '20250101-000000-aaaaaa',
      stale: '20250101-000000-bbbbbb',
      fresh: '20250101-000000-cccccc',
    };
    for (const id of Object.values(ids)) await scratch.create(id);
    await fsp.mkdir(path.join(root, 'lost+found'));
    for (const name of [ids.active, ids.stale, 'lost+found'])
      await fsp.utimes(path.join(root, name), old, old);

    const removed = await scratch.sweepStale({ activeBatchIds: [ids.active], olderThanMs: 3600_000 });
    expect(removed).toEqual([ids.stale]);
    const left = (await fsp.readdir(root)).sort();
    expect(left).toEqual([ids.active, ids.fresh, 'lost+found'].sort());
    expect(await scratch.sweepStale({ activeBatchIds: [ids.active], olderThanMs: 3600_000 })).toEqual([]);
  });

  it('reads SCRATCH_ROOT and SCRATCH_MIN_FREE', () => {
    const fromEnv = ScratchManager.fromEnv({ SCRATCH_ROOT: root, SCRATCH_MIN_FREE: '1GiB' });
    expect(fromEnv.root).toBe(root);
    expect(fromEnv.minFreeBytes).toBe(1024 ** 3);
    expect(ScratchManager.fromEnv({}).root).toBe('/data/scratch');
    expect(() => ScratchManager.fromEnv({ SCRATCH_ROOT: 'relative/dir' })).toThrow(ConfigError);
    expect(() => ScratchManager.fromEnv({ SCRATCH_ROOT: 'relative/dir' })).toThrow(/SCRATCH_ROOT/);
  });
});
