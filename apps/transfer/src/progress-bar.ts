import cliProgress from 'cli-progress';
import type { TransferProgress } from '@audio/storage';

const MiB = 1024 * 1024;

/** One cli-progress bar per file on stderr, only when stderr is a terminal (logs and pipes stay clean). */
export class FileProgressBar {
  private readonly bar: cliProgress.SingleBar | undefined;
  private started = false;

  constructor(
    private readonly label: string,
    stream: NodeJS.WriteStream = process.stderr,
  ) {
    if (!stream.isTTY) return;
    this.bar = new cliProgress.SingleBar(
      {
        stream,
        format: '{label} |{bar}| {percentage}% {done}/{size} MiB {rate} MB/s eta {left}',
        hideCursor: true,
        clearOnComplete: false,
        barsize: 30,
      },
      cliProgress.Presets.shades_classic,
    );
  }

  update(progress: TransferProgress): void {
    if (!this.bar) return;
    const payload = {
      label: this.label,
      done: (progress.bytes / MiB).toFixed(1),
      size: (progress.total / MiB).toFixed(1),
      rate: progress.mbPerSecond.toFixed(1),
      left: progress.etaSeconds === undefined ? '?' : `${Math.round(progress.etaSeconds)}s`,
    };
    if (!this.started) {
      this.started = true;
      this.bar.start(Math.max(progress.total, 1), progress.bytes, payload);
    } else this.bar.update(progress.bytes, payload);
  }

  /** Idempotent: a second stop does not print the bar again. */
  stop(): void {
    if (!this.started) return;
    this.started = false;
    this.bar?.stop();
  }
}
