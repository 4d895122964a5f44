import crypto from 'node:crypto';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import {
  installedModels,
  listPublishedModels,
  modelManifestKey,
  ModelManifestError,
  ModelSourceError,
  ModelSyncError,
  ObjectExistsError,
  publishModel,
  readPublishedManifest,
  syncModel,
  type ObjectStore,
} from '../src/index.js';
import { makeTempDir, sha256File, testS3Client, testStore, writeRandomFile } from './support/index.js';

const MiB = 1024 * 1024;

describe('models published to Swift and synced to a host', () => {
  let store: ObjectStore;
  let raw: S3Client;
  let dir: string;
  let root: string;
  // A model name of its own: suites sharing the bucket never meet.
  const name = `test-model-${crypto.randomBytes(4).toString('hex')}`;

  /** A model directory: a file over the multipart threshold, a nested one, small ones. */
  async function modelDir(label: string, shared?: string): Promise<string> {
    const source = path.join(dir, label);
    await fsp.mkdir(path.join(source, 'tokenizer'), { recursive: true });
    if (shared) await fsp.copyFile(path.join(shared, 'model.bin'), path.join(source, 'model.bin'));
    else await writeRandomFile(path.join(source, 'model.bin'), 6 * MiB);
    await fsp.writeFile(path.join(source, 'config.json'), JSON.stringify({ label }));
    await writeRandomFile(path.join(source, 'tokenizer', 'vocab.txt'), 300_000);
    await fsp.writeFile(path.join(source, 'empty.txt'), '');
    return source;
  }

  const link = () => path.join(root, name);
  const linked = async (file: string) => fsp.readFile(path.join(link(), file), 'utf8');

  beforeAll(async () => {
    raw = testS3Client();
    // Multipart above 5 MiB, so model.bin goes up in two parts as big weights do.
    store = testStore({ multipartThreshold: 5 * MiB, partSize: 5 * MiB });
    dir = await makeTempDir('models-test-');
    root = path.join(dir, 'models-root');
    await fsp.mkdir(root);
  });

  afterAll(async () => {
    const keys: string[] = [];
    for await (const item of store.listAll(`models/${name}/`)) keys.push(item.key);
    await store.deleteMany(keys);
    store.destroy();
    raw.destroy();
    await fsp.rm(dir, { recursive: true, force: true });
  });

  it('publishes a directory with a manifest of sizes and sha256, and refuses to publish it again', async () => {
    const source = await modelDir('v1');
    const published = await publishModel(store, { dir: source, name, version: 'v1' });
    expect(published.uploaded).toEqual(['config.json', 'empty.txt', 'model.bin', 'tokenizer/vocab.txt']);
    const { manifest } = await readPublishedManifest(store, name, 'v1');
    expect(manifest).toEqual(published.manifest);
    expect(manifest.files.find((f) => f.path === 'model.bin')).toEqual({
      path: 'model.bin',
      size: 6 * MiB,
      sha256: await sha256File(path.join(source, 'model.bin')),
    });
    expect(manifest.totalBytes).toBe(6 * MiB + 300_000 + JSON.stringify({ label: 'v1' }).length);
    expect(await listPublishedModels(store, { name })).toEqual([
      expect.objectContaining({ name, version: 'v1' }),
    ]);

    const before = await store.head(modelManifestKey(name, 'v1'));
    const sent: string[] = [];
    const refused = await publishModel(store, {
      dir: source,
      name,
      version: 'v1',
      onFile: (f) => sent.push(f.path),
    }).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(ObjectExistsError);
    expect((refused as Error).message).toBe(
      `refused to write models/${name}/v1/manifest.json: model ${name} version v1 is published already; ` +
        'versions are immutable, publish a new one',
    );
    expect(sent).toEqual([]);
    expect((await store.head(modelManifestKey(name, 'v1')))?.etag).toBe(before?.etag);
  });

  it('says how the server refuses an overwrite: If-None-Match where it is honoured, else check-then-write', async () => {
    // What this server does with a create-only PUT, asked directly.
    const key = `models/${name}/probe/if-none-match`;
    const conditionalPut = () =>
      raw.send(new PutObjectCommand({ Bucket: store.bucket, Key: key, Body: 'x', IfNoneMatch: '*' }));
    const first = await conditionalPut().then(
      () => 'stored',
      (error: { $metadata?: { httpStatusCode?: number } }) => error.$metadata?.httpStatusCode,
    );
    const source = await modelDir('probe');
    const published = await publishModel(store, { dir: source, name, version: 'probe-check' });
    if (first === 501) {
      // Swift 2.30's s3api: "Conditional object PUTs are not supported", even for a new key.
      expect(published.createOnly).toBe('check-then-write');
    } else {
      expect(first).toBe('stored');
      await expect(conditionalPut()).rejects.toMatchObject({ $metadata: { httpStatusCode: 412 } });
      expect(published.createOnly).toBe('conditional-put');
    }
  });

  it('resumes a publish cut short: files sent before are not sent again, and no version exists until the manifest', async () => {
    const source = await modelDir('resume');
    const stop = new AbortController();
    await expect(
      publishModel(store, {
        dir: source,
        name,
        version: 'v-resume',
        signal: stop.signal,
        onFile: () => stop.abort(),
      }),
    ).rejects.toThrow();
    await expect(readPublishedManifest(store, name, 'v-resume')).rejects.toThrow(ModelManifestError);
    const again = await publishModel(store, { dir: source, name, version: 'v-resume' });
    expect(again.reused).toEqual(['config.json']);
    expect(again.uploaded).toHaveLength(3);
  });

  it('refuses a directory with a symlink or a file named manifest.json', async () => {
    const source = await modelDir('bad');
    await fsp.symlink('config.json', path.join(source, 'link.json'));
    await expect(publishModel(store, { dir: source, name, version: 'bad' })).rejects.toThrow(
      new ModelSourceError(
        `${path.join(source, 'link.json')} is not a regular file (a symlink or special file): publish the files themselves`,
      ),
    );
    await fsp.rm(path.join(source, 'link.json'));
    await fsp.writeFile(path.join(source, 'manifest.json'), '{}');
    await expect(publishModel(store, { dir: source, name, version: 'bad' })).rejects.toThrow(/manifest/);
    expect(await store.exists(`models/${name}/bad/config.json`)).toBe(false);
  });

  it('syncs a version into MODELS_ROOT and switches the model link to it', async () => {
    const result = await syncModel(store, { name, version: 'v1', root });
    expect(result.fetched.sort()).toEqual(['config.json', 'empty.txt', 'model.bin', 'tokenizer/vocab.txt']);
    expect(await fsp.readlink(link())).toBe(`.versions/${name}/v1`);
    expect(JSON.parse(await linked('config.json'))).toEqual({ label: 'v1' });
    expect(await sha256File(path.join(link(), 'model.bin'))).toBe(
      await sha256File(path.join(dir, 'v1', 'model.bin')),
    );
    expect(JSON.parse(await linked('manifest.json'))).toMatchObject({ name, version: 'v1' });
    expect(await installedModels(root)).toEqual([{ name, version: 'v1', dir: result.dir }]);

    // Already there: nothing fetched, the link unchanged.
    const again = await syncModel(store, { name, version: 'v1', root });
    expect(again.fetched).toEqual([]);
    expect([result.switched, again.switched]).toEqual([true, false]);
    expect(await fsp.readlink(link())).toBe(`.versions/${name}/v1`);
  });

  it('resumes a sync cut short (only missing files fetched); the old version stays in use until the switch', async () => {
    await publishModel(store, { dir: await modelDir('v2', path.join(dir, 'v1')), name, version: 'v2' });
    const stop = new AbortController();
    let fetchedBeforeStop = 0;
    await expect(
      syncModel(store, {
        name,
        version: 'v2',
        root,
        signal: stop.signal,
        onFile: (_file, action) => {
          if (action === 'fetched' && ++fetchedBeforeStop === 2) stop.abort();
        },
      }),
    ).rejects.toThrow();
    // Half-synced: the link still names the whole v1, the files so far wait in staging.
    expect(await fsp.readlink(link())).toBe(`.versions/${name}/v1`);
    expect(JSON.parse(await linked('config.json'))).toEqual({ label: 'v1' });
    const staging = path.join(root, '.versions', name, '.staging-v2');
    expect((await fsp.readdir(staging)).sort()).toEqual(['config.json', 'empty.txt']);

    // A staged file damaged on disk meanwhile is fetched again, not trusted.
    await fsp.writeFile(path.join(staging, 'empty.txt'), 'not empty');
    const resumed = await syncModel(store, { name, version: 'v2', root });
    expect(resumed.reused).toEqual(['config.json']);
    expect(resumed.fetched.sort()).toEqual(['empty.txt', 'model.bin', 'tokenizer/vocab.txt']);
    expect(resumed.previous).toBe('v1');
    expect(await fsp.readlink(link())).toBe(`.versions/${name}/v2`);
    expect(JSON.parse(await linked('config.json'))).toEqual({ label: 'v2' });
    await expect(fsp.stat(staging)).rejects.toMatchObject({ code: 'ENOENT' });
    // v1 kept to roll back to (keep 2): switching back fetches nothing.
    const back = await syncModel(store, { name, version: 'v1', root });
    expect(back.fetched).toEqual([]);
    expect(await fsp.readlink(link())).toBe(`.versions/${name}/v1`);
  });

  it('stops on a published file that does not match its manifest, naming it, and leaves the link alone', async () => {
    await publishModel(store, { dir: await modelDir('v3'), name, version: 'v3' });
    // Damaged behind the publisher's back (its own sha256 metadata even matches the new bytes).
    const bad = crypto.randomBytes(300_000);
    await raw.send(
      new PutObjectCommand({
        Bucket: store.bucket,
        Key: `models/${name}/v3/tokenizer/vocab.txt`,
        Body: bad,
        Metadata: { sha256: crypto.createHash('sha256').update(bad).digest('hex') },
      }),
    );
    const error = await syncModel(store, { name, version: 'v3', root }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ModelSyncError);
    expect((error as Error).message).toMatch(
      new RegExp(
        `^model ${name} v3: tokenizer/vocab\\.txt does not match its manifest \\(expected sha256 [0-9a-f]{64}, got sha256 [0-9a-f]{64}\\)`,
      ),
    );
    expect((error as Error).message).not.toContain('\n');
    expect(await fsp.readlink(link())).toBe(`.versions/${name}/v1`);
  });

  it('finds a damaged installed file with --verify and fetches only that one; keeps `keep` versions', async () => {
    await syncModel(store, { name, version: 'v2', root });
    // Same size, other bytes: a plain sync checks sizes only and does not see it; --verify hashes.
    await fsp.writeFile(path.join(root, '.versions', name, 'v2', 'config.json'), '{"label":"xx"}');
    expect((await syncModel(store, { name, version: 'v2', root })).fetched).toEqual([]);
    const repaired = await syncModel(store, { name, version: 'v2', root, verify: true });
    expect(repaired.fetched).toEqual(['config.json']);
    expect(JSON.parse(await linked('config.json'))).toEqual({ label: 'v2' });

    const pruned = await syncModel(store, { name, version: 'v-resume', root, keep: 1 });
    expect(pruned.removed.sort()).toEqual(['v1', 'v2']);
    expect(await fsp.readdir(path.join(root, '.versions', name))).toEqual(['v-resume']);
  });

  it('refuses a version that is not published, and a model directory it did not make', async () => {
    await expect(syncModel(store, { name, version: 'v9', root })).rejects.toThrow(
      `model ${name} version v9 is not published (no models/${name}/v9/manifest.json)`,
    );
    await fsp.mkdir(path.join(root, 'by-hand'));
    await expect(syncModel(store, { name: 'by-hand', version: 'v1', root })).rejects.toThrow(
      /by-hand exists and is not a link made by model sync/,
    );
  });
});
