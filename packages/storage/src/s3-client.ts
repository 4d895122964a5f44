import crypto from 'node:crypto';
import { S3Client } from '@aws-sdk/client-s3';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import type { StorageConfig } from './storage-config.js';

const CONNECT_TIMEOUT_MS = 10_000;

/**
 * The SDK prints a NodeVersionSupportWarning (its releases after January 2027 need Node 22) on every
 * process under Node 20, so every CLI run repeated it. The versions pinned here work on Node 20 (the
 * README's operator notes say so, once), so it is switched off with the SDK's own setting,
 * AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED, unless the environment sets it already (`false`
 * shows it again).
 */
function quietNodeVersionWarning(): void {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
}

/**
 * An S3 client that is safe on Swift, MinIO and AWS:
 * - path-style URLs; checksums only where the API requires them (the SDK's default "when supported"
 *   sends aws-chunked bodies that Swift refuses and s3rver stores corrupted, and breaks presigned PUTs);
 * - retries (config.maxAttempts) with exponential backoff and full jitter on 5xx, SlowDown/throttling,
 *   timeouts and network errors: the SDK's standard strategy, which retries buffered bodies only;
 * - a connect timeout, and an idle timeout (config.requestTimeoutMs) that ends stalled transfers;
 * - DeleteObjects with Content-MD5, which Swift requires instead of the SDK's CRC32;
 * - no second hash of bodies that already carry Content-MD5 (see skipPayloadHashWhenMd5Signed).
 */
export function createS3Client(config: StorageConfig): S3Client {
  quietNodeVersionWarning();
  const client = new S3Client({
    ...(config.endpoint ? { endpoint: config.endpoint } : {}),
    region: config.region,
    forcePathStyle: config.forcePathStyle,
    credentials: { accessKeyId: config.accessKey, secretAccessKey: config.secretKey },
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    retryMode: 'standard',
    maxAttempts: config.maxAttempts,
    requestHandler: new NodeHttpHandler({
      connectionTimeout: CONNECT_TIMEOUT_MS,
      socketTimeout: config.requestTimeoutMs,
      httpAgent: { keepAlive: true, maxSockets: 64 },
      httpsAgent: { keepAlive: true, maxSockets: 64 },
    }),
  });
  // Late in the build step: after the SDK's checksum middleware, before signing.
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const request = asRequest(args.request);
      if (request && context.commandName === 'DeleteObjectsCommand') setContentMd5(request);
      if (request) skipPayloadHashWhenMd5Signed(request);
      return next(args);
    },
    { step: 'build', priority: 'low', name: 'audioSwiftCompatibility' },
  );
  return client;
}

interface MutableRequest {
  headers: Record<string, string>;
  body?: unknown;
}

function asRequest(request: unknown): MutableRequest | undefined {
  const candidate = request as Partial<MutableRequest> | undefined;
  return candidate && typeof candidate.headers === 'object' ? (candidate as MutableRequest) : undefined;
}

function findHeader(headers: Record<string, string>, name: string): string | undefined {
  for (const [key, value] of Object.entries(headers)) if (key.toLowerCase() === name) return value;
  return undefined;
}

/** Swift: "Missing required header: Content-MD5" on DeleteObjects, which the SDK sends with CRC32. */
function setContentMd5(request: MutableRequest): void {
  if (request.body === undefined) return;
  for (const name of Object.keys(request.headers)) {
    const lower = name.toLowerCase();
    if (
      lower.startsWith('x-amz-checksum-') ||
      lower === 'x-amz-sdk-checksum-algorithm' ||
      lower === 'content-md5'
    )
      delete request.headers[name];
  }
  const body = request.body as string | Uint8Array;
  request.headers['content-md5'] = crypto.createHash('md5').update(body).digest('base64');
}

/**
 * SigV4 hashes a buffered body with sha256 to sign it. A body that carries Content-MD5 is already
 * protected end to end (the server checks the MD5, and the MD5 header is signed), so the second hash only
 * costs CPU: ~0.6 s per GiB on the uploading host. Streamed bodies are unsigned anyway.
 */
function skipPayloadHashWhenMd5Signed(request: MutableRequest): void {
  if (
    request.body instanceof Uint8Array &&
    findHeader(request.headers, 'content-md5') !== undefined &&
    findHeader(request.headers, 'x-amz-content-sha256') === undefined
  ) {
    request.headers['x-amz-content-sha256'] = 'UNSIGNED-PAYLOAD';
  }
}
