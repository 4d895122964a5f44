import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { id3TitleTag, makeHostileArchive, makeSampleArchive, truncateCopy, writeTar } from '@audio/fixtures';
import { ArchiveError, ArchiveExtractor } from '../src/archive-extractor.js';

let dir: string;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'extractor-test-'));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const limits = { maxEntryBytes: 5 * 1024 * 1024, maxEntries: 1000, quotaBytes: 100 * 1024 * 1024 };

/** Every path under `root`, relative, with its type. */
function walk(root: string): string[] {
  return fs.readdirSync(root, { recursive: true, withFileTypes: true }).map((d) => {
    const rel = path.relative(root, path.join(d.parentPath, d.name));
    return `${d.isSymbolicLink() ? 'l' : d.isDirectory() ? 'd' : d.isFile() ? 'f' : '?'} ${rel}`;
  });
}

describe('ArchiveExtractor', () => {
  it('refuses each hostile entry with its own reason and writes only inside the batch directory', async () => {
    const archive = await makeHostileArchive(path.join(dir, 'hostile.tar'), {
      tooLargeBytes: limits.maxEntryBytes,
    });
    const sandbox = path.join(dir, 'sandbox');
    const batchDir = path.join(sandbox, 'batch');
    fs.mkdirSync(batchDir, { recursive: true });
    const result = await new ArchiveExtractor(limits).extract(fs.createReadStream(archive.path), batchDir);

    expect(Object.fromEntries(result.refused.map((r) => [r.entry, r.code]))).toEqual(archive.bad);
    expect(result.files.map((f) => f.entry).sort()).toEqual(Object.keys(archive.good).sort());
    // Nothing beside the batch directory, and inside it only regular files under our own names.
    expect(fs.readdirSync(sandbox)).toEqual(['batch']);
    expect(walk(batchDir).sort()).toEqual([
      'd opus',
      'd src',
      'f src/000000.mp3',
      'f src/000001.mp3',
      'f src/000002.mp3',
    ]);
    for (const file of result.files) {
      expect(file.sha256).toMatch(/^[0-9a-f]{64}$/);
      expect(fs.statSync(path.join(batchDir, file.sourcePath)).size).toBe(file.sizeBytes);
    }
  });

  it('stops at the scratch quota and the entry count, refusing the rest by name', async () => {
    const archive = await makeSampleArchive(path.join(dir, 'sample.tar'));
    const batchDir = path.join(dir, 'quota');
    const sizes = Object.keys(archive.good).length;
    const result = await new ArchiveExtractor({ ...limits, quotaBytes: 60_000, maxEntries: sizes }).extract(
      fs.createReadStream(archive.path),
      batchDir,
    );
    const written = result.files.reduce((sum, f) => sum + f.sizeBytes, 0);
    expect(written).toBeLessThanOrEqual(60_000);
    expect(result.refused.some((r) => r.code === 'quota_exceeded')).toBe(true);
    expect(result.files.length).toBeLessThan(sizes);
  });

  it('fails a truncated archive with truncated_archive', async () => {
    const archive = await makeSampleArchive(path.join(dir, 'sample2.tar'));
    const truncated = path.join(dir, 'truncated.tar');
    await truncateCopy(archive.path, truncated, 0.55);
    const extraction = new ArchiveExtractor(limits).extract(
      fs.createReadStream(truncated),
      path.join(dir, 'trunc'),
    );
    await expect(extraction).rejects.toBeInstanceOf(ArchiveError);
    await expect(extraction).rejects.toMatchObject({ code: 'truncated_archive' });
  });

  it('fails a file that is not a tar archive at all', async () => {
    const notTar = path.join(dir, 'not.tar');
    fs.writeFileSync(notTar, Buffer.alloc(4096, 0x41));
    await expect(
      new ArchiveExtractor(limits).extract(fs.createReadStream(notTar), path.join(dir, 'nottar')),
    ).rejects.toMatchObject({ code: 'unreadable_archive' });
  });

  it('reads the archive only as fast as it writes it: no entry is held in memory (backpressure)', async () => {
    // Entries far larger than any stream buffer: an extractor that collected an entry, or read on
    // while the disk lagged, would pull megabytes ahead of what it has written.
    const entryBytes = 16 * 1024 * 1024;
    const archive = path.join(dir, 'large.tar');
    await writeTar(
      archive,
      ['a', 'b', 'c'].map((name) => ({
        name: `${name}.mp3`,
        content: Buffer.concat([id3TitleTag(name), Buffer.alloc(entryBytes)]),
      })),
    );
    const batchDir = path.join(dir, 'large');
    const onDisk = () => {
      const src = path.join(batchDir, 'src');
      if (!fs.existsSync(src)) return 0;
      return fs.readdirSync(src).reduce((sum, f) => sum + fs.statSync(path.join(src, f)).size, 0);
    };
    let pulled = 0;
    let maxLead = 0;
    async function* counted(): AsyncGenerator<Buffer> {
      for await (const chunk of fs.createReadStream(archive, { highWaterMark: 64 * 1024 })) {
        // Bytes taken from the source minus bytes on disk: what the extractor holds in between.
        maxLead = Math.max(maxLead, pulled - onDisk());
        pulled += (chunk as Buffer).length;
        yield chunk as Buffer;
      }
    }
    // As the unpack handler feeds it: a byte stream over an async source (openVerifiedStream).
    const result = await new ArchiveExtractor({ ...limits, maxEntryBytes: 2 * entryBytes }).extract(
      Readable.from(counted(), { objectMode: false }),
      batchDir,
    );
    expect(result.files).toHaveLength(3);
    expect(pulled).toBe(fs.statSync(archive).size);
    expect(maxLead).toBeLessThan(2 * 1024 * 1024);
  });
});
