import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { speakToMp3, writeCorruptMp3 } from '@audio/fixtures';
import { OpusConverter } from '../src/opus-converter.js';

let dir: string;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'opus-test-'));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const converter = new OpusConverter({ ffmpegPath: 'ffmpeg', bitrate: '32k' });

describe('OpusConverter', () => {
  it('converts MP3 to Opus and keeps the title tag', async () => {
    const mp3 = path.join(dir, 'a.mp3');
    const opus = path.join(dir, 'a.opus');
    await speakToMp3('Testing the converter.', mp3);
    await converter.convert(mp3, opus);
    const probe = await execa('ffprobe', [
      '-v',
      'error',
      '-show_entries',
      'stream=codec_name:stream_tags=title',
      '-of',
      'json',
      opus,
    ]);
    const stream = JSON.parse(probe.stdout).streams[0];
    expect(stream.codec_name).toBe('opus');
    expect(stream.tags.title).toBe('Testing the converter.');
    expect(fs.existsSync(`${opus}.part`)).toBe(false);
  });

  it('fails an undecodable file with decode_error and leaves no partial output', async () => {
    const mp3 = path.join(dir, 'broken.mp3');
    const opus = path.join(dir, 'broken.opus');
    await writeCorruptMp3(mp3);
    await expect(converter.convert(mp3, opus)).rejects.toMatchObject({
      code: 'decode_error',
      retryable: false,
    });
    expect(fs.readdirSync(dir).filter((f) => f.startsWith('broken.opus'))).toEqual([]);
  });

  it('converts a group in one ffmpeg run, and isolates a bad file when the group fails', async () => {
    const files = ['one', 'two', 'bad', 'three'].map((name) => ({
      sourcePath: path.join(dir, `group-${name}.mp3`),
      opusPath: path.join(dir, `group-${name}.opus`),
    }));
    for (const [i, f] of files.entries()) {
      if (i === 2) await writeCorruptMp3(f.sourcePath);
      else await speakToMp3(`Group file ${i}.`, f.sourcePath);
    }
    const good = files.filter((_, i) => i !== 2);
    expect(await converter.convertMany(good)).toEqual([undefined, undefined, undefined]);
    for (const f of good) fs.rmSync(f.opusPath);

    const results = await converter.convertMany(files);
    expect(results.map((r) => (r as { code?: string } | undefined)?.code)).toEqual([
      undefined,
      undefined,
      'decode_error',
      undefined,
    ]);
    for (const [i, f] of files.entries()) expect(fs.existsSync(f.opusPath)).toBe(i !== 2);
    expect(fs.readdirSync(dir).filter((f) => f.endsWith('.part'))).toEqual([]);
  });
});
