import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import {
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  DeleteBucketCommand,
  ListMultipartUploadsCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { createS3Client } from '@audio/storage';
import { ObjectStore, readStorageConfig } from '@audio/storage';
import { MultipartJanitor } from '../src/multipart-janitor.js';

describe('MultipartJanitor against Swift', () => {
  // A bucket of its own: the janitor aborts every old upload in its bucket, and other suites upload
  // into the shared one at the same time.
  let store: ObjectStore;
  // Raw access for what the test does behind the janitor's back (the store's client is private).
  let raw: S3Client;
  beforeAll(async () => {
    const config = readStorageConfig();
    const bucket = `janitor-${Date.now()}`;
    raw = createS3Client(config);
    store = new ObjectStore(createS3Client(config), bucket);
    await raw.send(new CreateBucketCommand({ Bucket: bucket }));
  });
  afterAll(async () => {
    await raw.send(new DeleteBucketCommand({ Bucket: store.bucket }));
    store.destroy();
    raw.destroy();
  });

  const openUploads = async (key: string) =>
    ((await raw.send(new ListMultipartUploadsCommand({ Bucket: store.bucket, Prefix: key }))).Uploads ?? [])
      .length;

  it('aborts abandoned multipart uploads older than the limit and leaves younger ones', async () => {
    const key = `archives/janitor-${Date.now()}.tar`;
    await raw.send(new CreateMultipartUploadCommand({ Bucket: store.bucket, Key: key }));
    expect(await openUploads(key)).toBe(1);

    const patient = new MultipartJanitor(store, { olderThanMs: 3_600_000, intervalMs: 60_000 });
    expect((await patient.runOnce()).map((u) => u.key)).not.toContain(key);
    expect(await openUploads(key)).toBe(1);

    await new Promise((r) => setTimeout(r, 1100)); // Swift reports the start time to the second
    const strict = new MultipartJanitor(store, { olderThanMs: 0, intervalMs: 60_000 });
    expect((await strict.runOnce()).map((u) => u.key)).toContain(key);
    expect(await openUploads(key)).toBe(0);
  });
});
