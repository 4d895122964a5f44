import crypto from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';

/**
 * What a restarted upload needs to skip finished parts: the upload id, the part size it was cut with,
 * the file's sha256 (already sent as metadata when the upload was created) and the ETag of every part
 * the server acknowledged. It is valid only for the same bucket, key, file size and mtime.
 */
const uploadStateSchema = z.object({
  version: z.literal(1),
  bucket: z.string(),
  key: z.string(),
  size: z.number().int().nonnegative(),
  mtimeMs: z.number(),
  partSize: z.number().int().positive(),
  uploadId: z.string().min(1),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  createdAt: z.string(),
  /** Part number → ETag without quotes (the part's MD5 in hex). */
  parts: z.record(z.string().regex(/^\d+$/), z.string()),
});

export type UploadState = z.infer<typeof uploadStateSchema>;

export interface UploadIdentity {
  bucket: string;
  key: string;
  size: number;
  mtimeMs: number;
}

/** `<file>.upload.json` next to the source by default, or one file per bucket+key in `stateDir`. */
export function uploadStatePath(localPath: string, identity: UploadIdentity, stateDir?: string): string {
  if (!stateDir) return `${localPath}.upload.json`;
  const id = crypto
    .createHash('sha256')
    .update(`${identity.bucket}\n${identity.key}`)
    .digest('hex')
    .slice(0, 32);
  return path.join(stateDir, `${id}.upload.json`);
}

/** The saved state, or undefined when there is none or it is unreadable (then the upload starts over). */
export async function readUploadState(file: string): Promise<UploadState | undefined> {
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  try {
    const parsed = uploadStateSchema.safeParse(JSON.parse(text));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

export function stateMatches(state: UploadState, identity: UploadIdentity, partSize: number): boolean {
  return (
    state.bucket === identity.bucket &&
    state.key === identity.key &&
    state.size === identity.size &&
    state.mtimeMs === identity.mtimeMs &&
    state.partSize === partSize
  );
}

/**
 * Saves the state atomically (temp file + rename), so a process killed mid-write leaves the previous
 * state, never a torn file. Writes are serialized: the last call wins.
 */
export class UploadStateFile {
  private pending: Promise<void> = Promise.resolve();

  constructor(readonly file: string) {}

  save(state: UploadState): Promise<void> {
    const text = `${JSON.stringify(state)}\n`;
    const write = this.pending
      .catch(() => undefined)
      .then(async () => {
        await fs.mkdir(path.dirname(this.file), { recursive: true });
        const temp = `${this.file}.${process.pid}.tmp`;
        await fs.writeFile(temp, text);
        await fs.rename(temp, this.file);
      });
    this.pending = write;
    return write;
  }

  /** Removes the state and any temp file a process killed mid-save left beside it. */
  async remove(): Promise<void> {
    await this.pending.catch(() => undefined);
    await fs.rm(this.file, { force: true });
    const dir = path.dirname(this.file);
    const prefix = `${path.basename(this.file)}.`;
    const left = await fs.readdir(dir).catch(() => [] as string[]);
    await Promise.all(
      left
        .filter((name) => name.startsWith(prefix) && name.endsWith('.tmp'))
        .map((name) => fs.rm(path.join(dir, name), { force: true })),
    );
  }
}
