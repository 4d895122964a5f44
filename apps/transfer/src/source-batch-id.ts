import crypto from 'node:crypto';
import { newBatchId } from '@audio/queues';

/** What identifies one version of a source file: where it is, how big, last written when. */
export interface SourceFileIdentity {
  /** e.g. `sftp://transfer@ingest.example.org:22/srv/outgoing/a.tar` or `file:///data/inbox/a.tar`. */
  url: string;
  size: number;
  mtimeMs: number;
}

/**
 * The batch id of a source file, derived from its identity instead of drawn at random: a crash after
 * the upload but before the file was marked done ingests it again into the same batch id, hence the same
 * S3 key, batch row and unpack job id, which are all idempotent. The time part is the file's mtime (UTC),
 * the 6 hex digits come from sha256(url, size, mtime).
 */
export function batchIdForSourceFile(file: SourceFileIdentity): string {
  const mtime = new Date(Math.floor(file.mtimeMs / 1000) * 1000);
  const hex = crypto
    .createHash('sha256')
    .update(`${file.url}\n${file.size}\n${Math.floor(file.mtimeMs / 1000)}`)
    .digest('hex')
    .slice(0, 6);
  return newBatchId(Number.isNaN(mtime.getTime()) ? new Date(0) : mtime, hex);
}
