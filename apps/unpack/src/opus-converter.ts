import fs from 'node:fs/promises';
import { execa } from 'execa';
import { PipelineError } from '@audio/queues';

export interface Conversion {
  sourcePath: string;
  opusPath: string;
}

/**
 * MP3 → Opus with ffmpeg, keeping the tags (the fixture backend reads the title). Written to a
 * temporary name and renamed, so an Opus file in scratch is always complete.
 *
 * `convertMany` converts several files in one ffmpeg process: for short recordings ffmpeg's start-up
 * costs more than the encoding, so one process per group of files is about three times cheaper. If the
 * group fails, each file is converted alone, so a bad file still fails alone with its own reason.
 */
export class OpusConverter {
  constructor(private readonly options: { ffmpegPath: string; bitrate: string }) {}

  private outputArgs(input: number, partial: string): string[] {
    return [
      '-map',
      `${input}:a:0`,
      '-map_metadata',
      String(input),
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
    ];
  }

  private async run(conversions: Conversion[], signal?: AbortSignal) {
    const args = ['-nostdin', '-hide_banner', '-loglevel', 'error', '-y'];
    for (const c of conversions) args.push('-i', c.sourcePath);
    conversions.forEach((c, i) => args.push(...this.outputArgs(i, `${c.opusPath}.part`)));
    const result = await execa(this.options.ffmpegPath, args, {
      reject: false,
      cancelSignal: signal,
      stripFinalNewline: true,
    });
    if (result.exitCode === 0) {
      await Promise.all(conversions.map((c) => fs.rename(`${c.opusPath}.part`, c.opusPath)));
    } else {
      await Promise.all(conversions.map((c) => fs.rm(`${c.opusPath}.part`, { force: true })));
    }
    return result;
  }

  async convert(sourcePath: string, opusPath: string, signal?: AbortSignal): Promise<void> {
    const result = await this.run([{ sourcePath, opusPath }], signal);
    if (result.exitCode === 0) return;
    if (result.isCanceled) throw new Error('conversion cancelled');
    if (result.failed && result.exitCode === undefined) {
      throw new PipelineError('ffmpeg_unavailable', `ffmpeg could not run: ${result.message}`);
    }
    const detail =
      String(result.stderr).split('\n').filter(Boolean).slice(-2).join(' / ') || `exit ${result.exitCode}`;
    if (/no space left on device/i.test(detail)) {
      throw new PipelineError('scratch_full', `ffmpeg ran out of scratch space: ${detail}`);
    }
    throw new PipelineError('decode_error', `ffmpeg could not convert the file: ${detail}`, {
      retryable: false,
    });
  }

  /** One result per conversion, in order: undefined when it worked, the error when it did not. */
  async convertMany(conversions: Conversion[], signal?: AbortSignal): Promise<(Error | undefined)[]> {
    if (conversions.length > 1 && (await this.run(conversions, signal)).exitCode === 0) {
      return conversions.map(() => undefined);
    }
    const results: (Error | undefined)[] = [];
    for (const c of conversions) {
      results.push(
        await this.convert(c.sourcePath, c.opusPath, signal).then(
          () => undefined,
          (error: Error) => error,
        ),
      );
    }
    return results;
  }
}
