import crypto from 'node:crypto';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

const BLOCK = 4 * 1024 * 1024;

/** A private temporary directory; remove it with `fsp.rm(dir, { recursive: true, force: true })`. */
export function makeTempDir(prefix = 'storage-test-'): Promise<string> {
  return fsp.mkdtemp(path.join(os.tmpdir(), prefix));
}

/** Writes `size` random bytes quickly (4 MiB blocks) and returns the file's sha256 (hex). */
export async function writeRandomFile(file: string, size: number): Promise<string> {
  const hash = crypto.createHash('sha256');
  const handle = await fsp.open(file, 'w');
  try {
    for (let written = 0; written < size; written += BLOCK) {
      const chunk = crypto.randomBytes(Math.min(BLOCK, size - written));
      hash.update(chunk);
      await handle.write(chunk);
    }
  } finally {
    await handle.close();
  }
  return hash.digest('hex');
}

export async function sha256File(file: string): Promise<string> {
  const hash = crypto.createHash('sha256');
  for await (const chunk of fs.createReadStream(file, { highWaterMark: BLOCK })) hash.update(chunk as Buffer);
  return hash.digest('hex');
}
