import crypto from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { z } from 'zod';

const pushStateSchema = z.object({
  version: z.literal(1),
  /** The API the upload was begun on (another API: another upload). */
  api: z.string(),
  file: z.string(),
  sizeBytes: z.number().int().positive(),
  /** With the size, tells whether the file changed since (then the upload starts over). */
  mtimeMs: z.number(),
  sha256: z.string(),
  batchId: z.string(),
  uploadId: z.string(),
  partSize: z.number().int().positive(),
  partCount: z.number().int().positive(),
  /** Parts this client saw accepted: part number → ETag. The server's list is what counts on resume. */
  parts: z.record(z.string(), z.string()),
});

/** What `transfer push` keeps on disk so that a killed upload resumes where it stopped. */
export type PushState = z.infer<typeof pushStateSchema>;

/**
 * Default state file of a local archive: one per absolute path under `$XDG_STATE_HOME` (else
 * `~/.local/state`), so the archive's own folder may be read-only.
 */
export function defaultPushStatePath(file: string, env: NodeJS.ProcessEnv = process.env): string {
  const root = env.XDG_STATE_HOME || path.join(os.homedir(), '.local', 'state');
  const id = crypto.createHash('sha256').update(path.resolve(file)).digest('hex').slice(0, 16);
  return path.join(root, 'audio-transfer', 'push', `${path.basename(file)}.${id}.json`);
}

/** The saved state, or undefined when there is none or it is unreadable (then the upload starts over). */
export async function loadPushState(statePath: string): Promise<PushState | undefined> {
  const text = await fs.readFile(statePath, 'utf8').catch(() => undefined);
  if (text === undefined) return undefined;
  try {
    const parsed = pushStateSchema.safeParse(JSON.parse(text));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

/** Written to a temp file and renamed: a kill mid-write leaves the previous state, never half a file. */
export async function savePushState(statePath: string, state: PushState): Promise<void> {
  await fs.mkdir(path.dirname(statePath), { recursive: true });
  const temp = `${statePath}.${process.pid}.tmp`;
  await fs.writeFile(temp, `${JSON.stringify(state)}\n`, { mode: 0o600 });
  await fs.rename(temp, statePath);
}

export async function removePushState(statePath: string): Promise<void> {
  await fs.rm(statePath, { force: true });
}
