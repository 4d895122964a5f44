import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import tar from 'tar-stream';
import type { BatchFlowFile } from '@audio/queues';
import { judgeEntryHeader, type RefusalCode } from './entry-policy.js';
import { looksLikeMp3, SNIFF_BYTES } from './mp3-sniffer.js';

/** An accepted entry, as the batch flow carries it (paths relative to the batch's scratch directory). */
export type ExtractedFile = BatchFlowFile;

export interface RefusedEntry {
  entry: string;
  code: RefusalCode;
  message: string;
}

export interface ExtractionResult {
  files: ExtractedFile[];
  refused: RefusedEntry[];
  bytesWritten: number;
}

/** The archive as a whole cannot be read: the batch fails with this code. */
export class ArchiveError extends Error {
  constructor(
    readonly code: 'truncated_archive' | 'unreadable_archive',
    message: string,
  ) {
    super(message);
    this.name = 'ArchiveError';
  }
}

export interface ExtractorLimits {
  maxEntryBytes: number;
  maxEntries: number;
  quotaBytes: number;
}

/**
 * Streams a tar archive into a batch's scratch directory. Accepted entries are written under names of
 * our own (`src/000042.mp3`), so no entry name can reach outside the directory; the original name
 * travels in the job data. Refused entries are listed with their reason and nothing of them is kept.
 */
export class ArchiveExtractor {
  constructor(private readonly limits: ExtractorLimits) {}

  async extract(
    source: Readable,
    batchDir: string,
    onFile?: (file: ExtractedFile) => void,
    /** Extract only these entries (a retry of failed files); the others are skipped, not refused. */
    only?: ReadonlySet<string>,
  ): Promise<ExtractionResult> {
    await fs.promises.mkdir(path.join(batchDir, 'src'), { recursive: true });
    await fs.promises.mkdir(path.join(batchDir, 'opus'), { recursive: true });
    const files: ExtractedFile[] = [];
    const refused: RefusedEntry[] = [];
    let bytesWritten = 0;
    let entries = 0;

    const extract = tar.extract();
    const feeding = pipeline(source, extract).catch((error: unknown) => {
      extract.destroy(error as Error);
      throw error;
    });
    try {
      for await (const entry of extract) {
        const { header } = entry;
        const name = header.name;
        if (only && !only.has(name)) {
          entry.resume();
          continue;
        }
        const verdict = judgeEntryHeader(header, this.limits);
        if (!verdict.accept) {
          entry.resume();
          if (!verdict.skip) refused.push({ entry: name, code: verdict.code, message: verdict.message });
          continue;
        }
        if (++entries > this.limits.maxEntries) {
          entry.resume();
          refused.push({
            entry: name,
            code: 'too_many_entries',
            message: `over ${this.limits.maxEntries} files`,
          });
          continue;
        }
        const size = header.size ?? 0;
        if (bytesWritten + size > this.limits.quotaBytes) {
          entry.resume();
          refused.push({
            entry: name,
            code: 'quota_exceeded',
            message: `the batch's scratch quota of ${this.limits.quotaBytes} bytes is used up`,
          });
          continue;
        }
        const index = files.length;
        const stem = String(index).padStart(6, '0');
        const sourcePath = `src/${stem}.mp3`;
        const absolute = path.join(batchDir, sourcePath);
        const hash = crypto.createHash('sha256');
        const head: Buffer[] = [];
        let headBytes = 0;
        entry.on('data', (data: unknown) => {
          const chunk = data as Buffer;
          hash.update(chunk);
          if (headBytes < SNIFF_BYTES) {
            head.push(chunk);
            headBytes += chunk.length;
          }
        });
        await pipeline(entry, fs.createWriteStream(absolute, { flags: 'wx' }));
        if (!looksLikeMp3(Buffer.concat(head).subarray(0, SNIFF_BYTES))) {
          await fs.promises.rm(absolute, { force: true });
          refused.push({
            entry: name,
            code: 'not_mp3',
            message: 'the content is not MP3 audio (by its bytes)',
          });
          continue;
        }
        bytesWritten += size;
        const file: ExtractedFile = {
          index,
          entry: name,
          sourcePath,
          opusPath: `opus/${stem}.opus`,
          sha256: hash.digest('hex'),
          sizeBytes: size,
        };
        files.push(file);
        onFile?.(file);
      }
      await feeding;
    } catch (error) {
      await feeding.catch(() => undefined);
      throw toArchiveError(error);
    }
    return { files, refused, bytesWritten };
  }
}

function toArchiveError(error: unknown): Error {
  if (error instanceof ArchiveError) return error;
  const message = error instanceof Error ? error.message : String(error);
  if (/unexpected end of data|premature close|unexpected end/i.test(message)) {
    return new ArchiveError('truncated_archive', `the archive ends in the middle of an entry (${message})`);
  }
  if (/invalid tar header|checksum|header/i.test(message)) {
    return new ArchiveError('unreadable_archive', `not a readable tar archive (${message})`);
  }
  return error instanceof Error ? error : new Error(message);
}
