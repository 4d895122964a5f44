import fs from 'node:fs/promises';
import { execa } from 'execa';
import { PipelineError } from '@audio/queues';

/**
 * MP3 → Opus with ffmpeg, keeping the tags (the fixture backend reads the title). Written to a
 * temporary name and renamed, so an Opus file in scratch is always complete.
 */
export class OpusConverter {
  constructor(private readonly options: { ffmpegPath: string; bitrate: string }) {}

  async convert(sourcePath: string, opusPath: string, signal?: AbortSignal): Promise<void> {
    const partial = `${opusPath}.part`;
    const result = await execa(
      this.options.ffmpegPath,
      [
        '-nostdin',
        '-hide_banner',
        '-loglevel',
        'error',
        '-y',
        '-i',
        sourcePath,
        '-map',
        '0:a:0',
        '-map_metadata',
        '0',
        '-c:a',
        'libopus',
        '-b:a',
        this.options.bitrate,
        '-vbr',
        'on',
        '-application',
        'voip',
        '-f',
        'opus',
        partial,
      ],
      { reject: false, cancelSignal: signal, stripFinalNewline: true },
    );
    if (result.exitCode !== 0) {
      await fs.rm(partial, { force: true });
      if (result.isCanceled) throw new Error('conversion cancelled');
      if (result.failed && result.exitCode === undefined) {
        throw new PipelineError('ffmpeg_unavailable', `ffmpeg could not run: ${result.message}`, {
          stage: 'convert',
        });
      }
      const detail =
        String(result.stderr).split('\n').filter(Boolean).slice(-2).join(' / ') || `exit ${result.exitCode}`;
      if (/no space left on device/i.test(detail)) {
        throw new PipelineError('scratch_full', `ffmpeg ran out of scratch space: ${detail}`, {
          stage: 'convert',
        });
      }
      throw new PipelineError('decode_error', `ffmpeg could not convert the file: ${detail}`, {
        retryable: false,
        stage: 'convert',
      });
    }
    await fs.rename(partial, opusPath);
  }
}
