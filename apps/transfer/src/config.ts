import path from 'node:path';
import { z } from 'zod';
import {
  booleanFromEnv,
  bytesFromEnv,
  ConfigError,
  durationFromEnv,
  envVar,
  integerFromEnv,
  readEnv,
} from '@audio/config';

const TiB = 1024 ** 4;
/** S3's largest object; Swift's 1000 parts of at most 5 GiB stop a little lower. */
const MAX_OBJECT_BYTES = 5 * TiB;
const FINGERPRINT = /^SHA256:[A-Za-z0-9+/]{43}=?$/;
const absolutePath = z.string().refine((p) => path.isAbsolute(p), 'must be an absolute path');
const remotePath = z.string().refine((p) => p.startsWith('/'), 'must be an absolute path on the remote host');
const glob = z.string().min(1).max(200);

const transferVariables = z.object({
  TRANSFER_STATE_DIR: envVar(absolutePath.default('/data/transfer/state'), '/data/transfer/state'),
  TRANSFER_TEMP_DIR: envVar(absolutePath.default('/data/transfer/tmp'), '/data/transfer/tmp'),
  TRANSFER_SHUTDOWN_TIMEOUT: envVar(durationFromEnv.default(60_000), '60s'),
  STALE_MULTIPART_AFTER: envVar(durationFromEnv.default(7 * 86_400_000), '7d'),
  MULTIPART_JANITOR_INTERVAL: envVar(durationFromEnv.default(3_600_000), '1h'),
  STORAGE_AUDIT_INTERVAL: envVar(durationFromEnv.pipe(z.number().min(60_000)).optional(), '6h'),
  STORAGE_AUDIT_REPAIR: envVar(booleanFromEnv.default(false), 'false'),

  SFTP_HOST: envVar(z.string().min(1).optional(), 'ingest.example.org'),
  SFTP_PORT: envVar(integerFromEnv(1, 65535).default(22), '22'),
  SFTP_USER: envVar(z.string().min(1).optional(), 'transfer'),
  SFTP_KEY_FILE: envVar(absolutePath.optional(), '/etc/audio/sftp_ed25519'),
  SFTP_KEY_PASSPHRASE: envVar(z.string().optional(), 'change-me'),
  SFTP_REMOTE_DIR: envVar(remotePath.optional(), '/srv/outgoing'),
  SFTP_PATTERN: envVar(glob.default('*.tar'), '*.tar'),
  SFTP_DONE_DIR: envVar(remotePath.optional(), '/srv/outgoing/done'),
  SFTP_POLL_INTERVAL: envVar(durationFromEnv.pipe(z.number().min(100)).default(60_000), '60s'),
  SFTP_MIN_AGE: envVar(durationFromEnv.default(120_000), '2m'),
  SFTP_HOST_FINGERPRINT: envVar(
    z.string().regex(FINGERPRINT, 'must look like SHA256:… (ssh-keygen -lf key.pub)').optional(),
    'SHA256:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU',
  ),
  SFTP_CONNECT_TIMEOUT: envVar(durationFromEnv.default(20_000), '20s'),

  INBOX_DIR: envVar(absolutePath.optional(), '/data/inbox'),
  INBOX_PATTERN: envVar(glob.default('*.tar'), '*.tar'),
  INBOX_POLL_INTERVAL: envVar(durationFromEnv.pipe(z.number().min(100)).default(10_000), '10s'),
  INBOX_MIN_AGE: envVar(durationFromEnv.default(30_000), '30s'),
  INBOX_DELETE_AFTER_INGEST: envVar(booleanFromEnv.default(false), 'false'),

  UPLOAD_API_ENABLED: envVar(booleanFromEnv.default(true), 'true'),
  /** Deprecated: one token shared by every client; per-client tokens come from `transfer clients add`. */
  UPLOAD_API_TOKEN: envVar(
    z.string().min(16, 'must be at least 16 characters (e.g. openssl rand -hex 32)').optional(),
    '<64 hex digits from openssl rand -hex 32>',
  ),
  UPLOAD_API_RATE_LIMIT: envVar(integerFromEnv(0, 1_000_000).default(120), '120'),
  UPLOAD_API_RATE_WINDOW: envVar(
    durationFromEnv.pipe(z.number().min(1000, 'must be at least 1s')).default(60_000),
    '1m',
  ),
  UPLOAD_S3_PUBLIC_ENDPOINT: envVar(z.url({ protocol: /^https?$/ }).optional(), 'https://s3.example.org'),
  UPLOAD_API_HOST: envVar(z.string().min(1).default('127.0.0.1'), '0.0.0.0'),
  UPLOAD_API_PORT: envVar(integerFromEnv(0, 65535).default(8090), '8090'),
  UPLOAD_URL_EXPIRY: envVar(
    durationFromEnv
      .pipe(
        z
          .number()
          .min(60_000, 'must be at least 1m')
          .max(7 * 86_400_000, 'must be at most 7d'),
      )
      .default(6 * 3_600_000),
    '6h',
  ),
  UPLOAD_PENDING_TTL: envVar(durationFromEnv.pipe(z.number().min(60_000)).default(7 * 86_400_000), '7d'),
  UPLOAD_MAX_BYTES: envVar(
    bytesFromEnv.pipe(z.number().int().min(1).max(MAX_OBJECT_BYTES, 'must be at most 5TiB')).default(TiB),
    '1TiB',
  ),
});

const transferEnv = transferVariables.transform((e) => ({
  /** Resumable-upload state files (upload ids, part ETags). */
  stateDir: e.TRANSFER_STATE_DIR,
  /** Downloads land here before they are uploaded; removed after each file. */
  tempDir: e.TRANSFER_TEMP_DIR,
  shutdownTimeoutMs: e.TRANSFER_SHUTDOWN_TIMEOUT,
  /** Multipart uploads older than this are aborted by the janitor (Swift has no lifecycle rules). */
  staleMultipartAfterMs: e.STALE_MULTIPART_AFTER,
  multipartJanitorIntervalMs: e.MULTIPART_JANITOR_INTERVAL,
  /** The storage audit as a janitor in the service: every this long (unset: never), repairing or not. */
  storageAudit: e.STORAGE_AUDIT_INTERVAL
    ? { intervalMs: e.STORAGE_AUDIT_INTERVAL, repair: e.STORAGE_AUDIT_REPAIR }
    : null,
  uploadApi: {
    enabled: e.UPLOAD_API_ENABLED,
    /** Deprecated shared bearer token, accepted beside the clients' own tokens while it is set. */
    ...(e.UPLOAD_API_TOKEN ? { sharedToken: e.UPLOAD_API_TOKEN } : {}),
    /** Requests per client per window (0: no limit), counted in Redis across instances. */
    rateLimit: {
      points: e.UPLOAD_API_RATE_LIMIT,
      windowSeconds: Math.round(e.UPLOAD_API_RATE_WINDOW / 1000),
    },
    /** S3 as clients outside reach it, for the presigned URLs; unset: S3_ENDPOINT. */
    ...(e.UPLOAD_S3_PUBLIC_ENDPOINT ? { publicS3Endpoint: e.UPLOAD_S3_PUBLIC_ENDPOINT } : {}),
    host: e.UPLOAD_API_HOST,
    port: e.UPLOAD_API_PORT,
    /** Lifetime of the presigned URLs handed out. */
    urlExpirySeconds: Math.round(e.UPLOAD_URL_EXPIRY / 1000),
    /** How long an upload may stay pending (between POST /uploads and /complete). */
    pendingTtlSeconds: Math.max(
      Math.round(e.UPLOAD_PENDING_TTL / 1000),
      Math.round(e.UPLOAD_URL_EXPIRY / 1000),
    ),
    maxBytes: e.UPLOAD_MAX_BYTES,
  },
  /** Unset when SFTP_HOST is not set. */
  ...(e.SFTP_HOST ? { sftp: sftpConfig(e.SFTP_HOST, e) } : {}),
  /** Unset when INBOX_DIR is not set. */
  ...(e.INBOX_DIR
    ? {
        inbox: {
          dir: e.INBOX_DIR,
          pattern: e.INBOX_PATTERN,
          pollIntervalMs: e.INBOX_POLL_INTERVAL,
          minAgeMs: e.INBOX_MIN_AGE,
          deleteAfterIngest: e.INBOX_DELETE_AFTER_INGEST,
        },
      }
    : {}),
}));

function sftpConfig(host: string, e: z.output<typeof transferVariables>) {
  const required = (name: 'SFTP_USER' | 'SFTP_KEY_FILE' | 'SFTP_REMOTE_DIR', example: string) => {
    const value = e[name];
    if (!value)
      throw new ConfigError(
        name,
        `${name} is required when SFTP_HOST is set but not set; example: ${name}=${example}`,
      );
    return value;
  };
  const remoteDir = required('SFTP_REMOTE_DIR', '/srv/outgoing').replace(/(.)\/+$/, '$1');
  return {
    host,
    port: e.SFTP_PORT,
    user: required('SFTP_USER', 'transfer'),
    keyFile: required('SFTP_KEY_FILE', '/etc/audio/sftp_ed25519'),
    ...(e.SFTP_KEY_PASSPHRASE ? { keyPassphrase: e.SFTP_KEY_PASSPHRASE } : {}),
    remoteDir,
    /** Glob matched against file names in remoteDir (not subdirectories). */
    pattern: e.SFTP_PATTERN,
    /** Where ingested files are renamed to; default `<remoteDir>/done`. */
    doneDir: e.SFTP_DONE_DIR ?? path.posix.join(remoteDir, 'done'),
    pollIntervalMs: e.SFTP_POLL_INTERVAL,
    /** A file whose size and mtime have not changed for this long is complete. */
    minAgeMs: e.SFTP_MIN_AGE,
    /** `SHA256:…` of the server's host key; the connection is refused when it differs. */
    ...(e.SFTP_HOST_FINGERPRINT ? { hostFingerprint: e.SFTP_HOST_FINGERPRINT } : {}),
    connectTimeoutMs: e.SFTP_CONNECT_TIMEOUT,
  };
}

export type TransferConfig = z.output<typeof transferEnv>;
export type SftpConfig = NonNullable<TransferConfig['sftp']>;
export type InboxConfig = NonNullable<TransferConfig['inbox']>;
export type UploadApiConfig = TransferConfig['uploadApi'];

/**
 * The transfer app's variables. A source is configured by its main variable (SFTP_HOST, INBOX_DIR); once
 * it is, the rest it needs are required and named in the error when missing.
 */
export function readTransferConfig(env: NodeJS.ProcessEnv = process.env): TransferConfig {
  return readEnv(transferEnv, env);
}
