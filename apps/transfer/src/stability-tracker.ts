import path from 'node:path';

export interface ListedFile {
  name: string;
  size: number;
  mtimeMs: number;
}

/**
 * Tells complete files from files still being written, from successive directory listings.
 *
 * - `two-looks` (the inbox): the size and mtime were the same in the previous listing and the mtime is at
 *   least `minAgeMs` old.
 * - `age-or-unchanged` (SFTP): the mtime is at least `minAgeMs` old, or the size and mtime have stayed the
 *   same across listings for `minAgeMs` (by the local clock: a remote clock running ahead cannot hold a
 *   file back forever). One listing can suffice, so `--once` works.
 */
export class StabilityTracker {
  private seen = new Map<string, { size: number; mtimeMs: number; since: number }>();

  constructor(
    private readonly minAgeMs: number,
    private readonly rule: 'two-looks' | 'age-or-unchanged',
    private readonly now: () => number = Date.now,
  ) {}

  /** Records one listing (names not in it are forgotten); returns the names of complete files. */
  update(files: ListedFile[]): Set<string> {
    const now = this.now();
    const next = new Map<string, { size: number; mtimeMs: number; since: number }>();
    const ready = new Set<string>();
    for (const file of files) {
      const previous = this.seen.get(file.name);
      const unchanged =
        previous !== undefined && previous.size === file.size && previous.mtimeMs === file.mtimeMs;
      const since = unchanged ? previous.since : now;
      next.set(file.name, { size: file.size, mtimeMs: file.mtimeMs, since });
      const old = now - file.mtimeMs >= this.minAgeMs;
      const complete = this.rule === 'two-looks' ? unchanged && old : old || now - since >= this.minAgeMs;
      if (complete) ready.add(file.name);
    }
    this.seen = next;
    return ready;
  }
}

/** `a.tar` → `a.20250622-143052-a1b2c3.tar`: a done file's name when the plain name is taken. */
export function nameWithBatchId(name: string, batchId: string): string {
  const ext = path.extname(name);
  const stem = ext ? name.slice(0, -ext.length) : name;
  return `${stem}.${batchId}${ext}`;
}
