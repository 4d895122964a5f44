import fs from 'node:fs/promises';

/** Where POSIX (ustar) and GNU tar headers carry their magic; V7 tar has none and is not accepted. */
export const TAR_MAGIC_OFFSET = 257;
export const TAR_MAGIC = Buffer.from('ustar');
const TAR_BLOCK = 512;

/** A file that is not an archive this pipeline takes: the message names the file and the reason. */
export class InvalidArchiveError extends Error {
  constructor(
    readonly file: string,
    readonly reason: string,
  ) {
    super(`${file} is not an archive to ingest: ${reason}`);
    this.name = 'InvalidArchiveError';
  }
}

/** True when `header` (the first block of a file or object) holds the ustar magic. */
export function hasTarMagic(header: Buffer): boolean {
  return header.subarray(TAR_MAGIC_OFFSET, TAR_MAGIC_OFFSET + TAR_MAGIC.length).equals(TAR_MAGIC);
}

/**
 * Checks that `file` exists, is a regular file, is not empty and starts with a tar header; returns its
 * size and mtime. Cheap (one stat and one 512-byte read): the full check is unpack's streaming extraction.
 */
export async function checkArchiveFile(file: string): Promise<{ size: number; mtimeMs: number }> {
  let stat;
  try {
    stat = await fs.stat(file);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new InvalidArchiveError(file, 'it does not exist');
    if (code === 'EACCES') throw new InvalidArchiveError(file, 'permission denied');
    throw error;
  }
  if (!stat.isFile()) throw new InvalidArchiveError(file, 'it is not a regular file');
  if (stat.size === 0) throw new InvalidArchiveError(file, 'it is empty');
  if (stat.size < TAR_BLOCK)
    throw new InvalidArchiveError(file, `it has ${stat.size} bytes, less than one tar header (512)`);
  const handle = await fs.open(file, 'r');
  try {
    const header = Buffer.alloc(TAR_BLOCK);
    await handle.read(header, 0, TAR_BLOCK, 0);
    if (!hasTarMagic(header))
      throw new InvalidArchiveError(file, 'no tar header ("ustar" at byte 257): not a tar archive');
  } finally {
    await handle.close();
  }
  return { size: stat.size, mtimeMs: stat.mtimeMs };
}
