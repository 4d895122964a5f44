import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** Test audio made at test time: espeak-ng speech, encoded by ffmpeg with the text as `title`. */
export class TestAudio {
  private constructor(readonly dir: string) {}

  static async create(): Promise<TestAudio> {
    return new TestAudio(await mkdtemp(path.join(tmpdir(), 'sidecar-test-')));
  }

  /** An Opus file (what apps/unpack writes) saying `text`, with `text` as its title tag. */
  async opus(name: string, text: string): Promise<string> {
    const wav = path.join(this.dir, `${name}.wav`);
    const out = path.join(this.dir, `${name}.opus`);
    await run('espeak-ng', ['-w', wav, text]);
    await run('ffmpeg', [
      '-v',
      'error',
      '-y',
      '-i',
      wav,
      '-c:a',
      'libopus',
      '-b:a',
      '24k',
      '-metadata',
      `title=${text}`,
      out,
    ]);
    return out;
  }

  path(name: string): string {
    return path.join(this.dir, name);
  }

  async remove(): Promise<void> {
    await rm(this.dir, { recursive: true, force: true });
  }
}
