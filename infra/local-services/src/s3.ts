import {
  CreateBucketCommand,
  DeleteBucketCommand,
  DeleteObjectsCommand,
  HeadBucketCommand,
  ListBucketsCommand,
  ListObjectsV2Command,
  S3Client,
  type S3ClientConfig,
} from '@aws-sdk/client-s3';

export interface S3Settings {
  endpoint: string;
  accessKey: string;
  secretKey: string;
  bucket: string;
  region: string;
}

export function configuredS3(env: NodeJS.ProcessEnv): S3Settings | undefined {
  if (!env.S3_ENDPOINT) return undefined;
  return {
    endpoint: env.S3_ENDPOINT,
    accessKey: env.S3_ACCESS_KEY ?? '',
    secretKey: env.S3_SECRET_KEY ?? '',
    bucket: env.S3_BUCKET ?? 'audio-pipeline',
    region: env.S3_REGION ?? 'us-east-1',
  };
}

function client(s: S3Settings): S3Client {
  const config: S3ClientConfig = {
    endpoint: s.endpoint,
    region: s.region,
    forcePathStyle: true,
    credentials: { accessKeyId: s.accessKey, secretAccessKey: s.secretKey },
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    maxAttempts: 1,
  };
  return new S3Client(config);
}

export async function s3Answers(s: S3Settings): Promise<boolean> {
  const s3 = client(s);
  try {
    await s3.send(new ListBucketsCommand({}), { abortSignal: AbortSignal.timeout(3000) });
    return true;
  } catch {
    return false;
  } finally {
    s3.destroy();
  }
}

/** Creates the bucket when it does not exist yet. */
export async function ensureBucket(s: S3Settings): Promise<void> {
  const s3 = client(s);
  try {
    try {
      await s3.send(new HeadBucketCommand({ Bucket: s.bucket }));
    } catch {
      await s3.send(new CreateBucketCommand({ Bucket: s.bucket }));
    }
  } finally {
    s3.destroy();
  }
}

/** Deletes every object of the bucket and the bucket itself (a test's own bucket, at its end). */
export async function removeBucket(s: S3Settings): Promise<void> {
  const s3 = client(s);
  try {
    for (;;) {
      const page = await s3.send(new ListObjectsV2Command({ Bucket: s.bucket, MaxKeys: 1000 }));
      const keys = (page.Contents ?? []).map((o) => ({ Key: o.Key! }));
      if (keys.length === 0) break;
      await s3.send(new DeleteObjectsCommand({ Bucket: s.bucket, Delete: { Objects: keys, Quiet: true } }));
    }
    await s3.send(new DeleteBucketCommand({ Bucket: s.bucket }));
  } finally {
    s3.destroy();
  }
}
