// The benchmark's archives, made as a stream: a tar of MP3-named entries of 2–20 MiB, each a real MP3
// (an ID3 title tag, then one short encoded tone repeated to the entry's size). Nothing of it is kept
// in memory or on disk: the same seed gives the same bytes, so it is made twice (hashed, then uploaded).
import crypto from 'node:crypto';
import { execa } from 'execa';
import tar from 'tar-stream';
import { id3TitleTag } from '@audio/fixtures';
import { planParts, type ObjectStore } from '@audio/storage';

const MiB = 1024 * 1024;
/** A fixed mtime: the two passes must produce the same bytes. */
const MTIME = new Date('2025-06-22T14:30:52Z');

export interface PlannedEntry {
  name: string;
  size: number;
}

/** Entries of 2–20 MiB (seeded) until their contents reach `totalBytes`; the last one takes the rest. */
export function planEntries(totalBytes: number, seed: number): PlannedEntry[] {
  const random = mulberry32(seed);
  const entries: PlannedEntry[] = [];
  let left = totalBytes;
  while (left > 0) {
    let size = Math.floor(2 * MiB + random() * 18 * MiB);
    if (left - size < 2 * MiB) size = left; // no runt entry at the end
    entries.push({ name: `recordings/${String(entries.length).padStart(5, '0')}-call.mp3`, size });
    left -= size;
  }
  return entries;
}

/** About 1 MiB of MP3 frames: a 2 s tone encoded once by ffmpeg (no ID3 tag, no Xing frame), repeated. */
export async function makeMp3Block(ffmpegPath = 'ffmpeg'): Promise<Buffer> {
  const { stdout } = await execa(
    ffmpegPath,
    [
      ...['-nostdin', '-hide_banner', '-loglevel', 'error'],
      ...['-f', 'lavfi', '-i', 'sine=frequency=440:duration=2'],
      ...['-c:a', 'libmp3lame', '-b:a', '128k', '-write_xing', '0', '-id3v2_version', '0'],
      ...['-f', 'mp3', 'pipe:1'],
    ],
    { encoding: 'buffer' },
  );
  const tone = Buffer.from(stdout);
  if (tone.length === 0) throw new Error(`${ffmpegPath} produced no MP3 bytes`);
  return Buffer.concat(Array.from({ length: Math.ceil(MiB / tone.length) }, () => tone));
}

/** The archive's bytes, produced only as fast as they are read (tar-stream's backpressure). */
export function packArchive(entries: PlannedEntry[], mp3Block: Buffer): AsyncIterable<Buffer> {
  const pack = tar.pack();
  const writeEntry = (entry: PlannedEntry) =>
    new Promise<void>((resolve, reject) => {
      const stream = pack.entry({ name: entry.name, size: entry.size, mode: 0o644, mtime: MTIME }, (error) =>
        error ? reject(error) : resolve(),
      );
      const tag = id3TitleTag(entry.name);
      let left = entry.size;
      const write = () => {
        while (left > 0) {
          const chunk = left === entry.size && tag.length < left ? tag : mp3Block.subarray(0, left);
          left -= chunk.length;
          if (!stream.write(chunk)) {
            stream.once('drain', write);
            return;
          }
        }
        stream.end(() => undefined);
      };
      write();
    });
  void (async () => {
    for (const entry of entries) await writeEntry(entry);
    pack.finalize();
  })().catch((error: unknown) => pack.destroy(error as Error));
  return pack as AsyncIterable<Buffer>;
}

export interface ArchiveDigest {
  sizeBytes: number;
  sha256: string;
}

export async function digestArchive(source: AsyncIterable<Buffer>): Promise<ArchiveDigest> {
  const hash = crypto.createHash('sha256');
  let sizeBytes = 0;
  for await (const chunk of source) {
    hash.update(chunk);
    sizeBytes += chunk.length;
  }
  return { sizeBytes, sha256: hash.digest('hex') };
}

/**
 * A streamed multipart upload with the archive's sha256 in its metadata, as the transfer app's
 * uploader leaves it (that uploader reads a file; this one takes the generated stream).
 */
export async function uploadArchive(
  store: ObjectStore,
  key: string,
  source: AsyncIterable<Buffer>,
  digest: ArchiveDigest,
  metadata: Record<string, string>,
): Promise<void> {
  const { partSize } = planParts(digest.sizeBytes, store.transfer.partSize, store.transfer.maxParts);
  const uploadId = await store.createMultipartUpload(key, {
    contentType: 'application/x-tar',
    metadata: { ...metadata, sha256: digest.sha256 },
  });
  const parts: { partNumber: number; etag: string }[] = [];
  const inFlight = new Set<Promise<void>>();
  const send = async (partNumber: number, body: Buffer) => {
    const md5 = crypto.createHash('md5').update(body).digest('base64');
    const etag = await store.uploadPart(key, uploadId, { partNumber, body, md5 });
    parts.push({ partNumber, etag: etag ?? Buffer.from(md5, 'base64').toString('hex') });
  };
  const queue = async (partNumber: number, body: Buffer) => {
    const sending: Promise<void> = send(partNumber, body).finally(() => inFlight.delete(sending));
    sending.catch(() => undefined); // awaited below; this only keeps it from counting as unhandled
    inFlight.add(sending);
    if (inFlight.size >= store.transfer.partConcurrency) await Promise.race(inFlight);
  };
  try {
    let pending: Buffer[] = [];
    let pendingBytes = 0;
    let partNumber = 0;
    for await (let chunk of source) {
      while (chunk.length > 0) {
        const take = Math.min(chunk.length, partSize - pendingBytes);
        pending.push(chunk.subarray(0, take));
        pendingBytes += take;
        chunk = chunk.subarray(take);
        if (pendingBytes === partSize) {
          await queue(++partNumber, Buffer.concat(pending));
          pending = [];
          pendingBytes = 0;
        }
      }
    }
    if (pendingBytes > 0 || partNumber === 0) await queue(++partNumber, Buffer.concat(pending));
    await Promise.all(inFlight);
    await store.completeMultipartUpload(key, uploadId, parts);
  } catch (error) {
    await Promise.allSettled(inFlight);
    await store.abortMultipartUpload(key, uploadId).catch(() => undefined);
    throw error;
  }
}

/** A small seeded PRNG: the entry sizes must be the same in both passes. */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
