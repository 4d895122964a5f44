import crypto from 'node:crypto';
import fs from 'node:fs/promises';

const READ_CHUNK = 4 * 1024 * 1024;

export interface FileDigest {
  size: number;
  /** Hex, as stored in the `sha256` metadata. */
  sha256: string;
  /** Base64, as sent in Content-MD5; only when asked for. */
  md5?: string;
}

/**
 * Hashes a file in one streaming pass (bounded memory, whatever the size). sha256 always; md5 only
 * when the caller will send the file in one PUT and needs Content-MD5.
 */
export async function digestFile(
  path: string,
  options: { md5?: boolean; signal?: AbortSignal } = {},
): Promise<FileDigest> {
  const sha256 = crypto.createHash('sha256');
  const md5 = options.md5 ? crypto.createHash('md5') : undefined;
  const handle = await fs.open(path, 'r');
  try {
    const buffer = Buffer.allocUnsafe(READ_CHUNK);
    let size = 0;
    for (;;) {
      options.signal?.throwIfAborted();
      const { bytesRead } = await handle.read(buffer, 0, buffer.length, size);
      if (bytesRead === 0) break;
      const chunk = buffer.subarray(0, bytesRead);
      sha256.update(chunk);
      md5?.update(chunk);
      size += bytesRead;
    }
    return { size, sha256: sha256.digest('hex'), ...(md5 ? { md5: md5.digest('base64') } : {}) };
  } finally {
    await handle.close();
  }
}

/** Reads exactly `length` bytes at `position` (a part of a file), failing if the file is shorter. */
export async function readExactly(handle: fs.FileHandle, position: number, length: number): Promise<Buffer> {
  const buffer = Buffer.allocUnsafe(length);
  let filled = 0;
  while (filled < length) {
    const { bytesRead } = await handle.read(buffer, filled, length - filled, position + filled);
    if (bytesRead === 0)
      throw new Error(`file ended at byte ${position + filled}, expected ${position + length}`);
    filled += bytesRead;
  }
  return buffer;
}

export function md5Base64(data: Uint8Array): string {
  return crypto.createHash('md5').update(data).digest('base64');
}

/** Base64 MD5 (Content-MD5) to the hex form S3 uses in part ETags. */
export function md5Base64ToHex(value: string): string {
  return Buffer.from(value, 'base64').toString('hex');
}

/** `"abc"` → `abc`: S3 quotes ETags, and some servers do not. */
export function unquoteEtag(etag: string | undefined): string | undefined {
  return etag?.replace(/^W\//, '').replace(/^"|"$/g, '');
}
