/** A 'progress' event of an upload or download. */
export interface TransferProgress {
  /** Bytes done, counting parts a resumed upload found already on the server. */
  bytes: number;
  total: number;
  /** Rate of this run (10^6 bytes per second), over the bytes this run moved. */
  mbPerSecond: number;
  /** Seconds left at the current rate; undefined before there is a rate. */
  etaSeconds: number | undefined;
}

/** Turns byte counts into progress events, at most one per interval (and always the final one). */
export class ProgressMeter {
  private readonly startedAt = performance.now();
  private lastEmit = 0;
  private bytes: number;

  constructor(
    readonly total: number,
    private readonly alreadyDone: number,
    private readonly emit: (progress: TransferProgress) => void,
    private readonly intervalMs = 500,
  ) {
    this.bytes = alreadyDone;
  }

  add(n: number): void {
    this.bytes += n;
    const now = performance.now();
    if (this.bytes >= this.total || now - this.lastEmit >= this.intervalMs) {
      this.lastEmit = now;
      this.emit(this.snapshot(now));
    }
  }

  snapshot(now = performance.now()): TransferProgress {
    const seconds = (now - this.startedAt) / 1000;
    const moved = this.bytes - this.alreadyDone;
    const rate = seconds > 0 ? moved / seconds : 0;
    return {
      bytes: this.bytes,
      total: this.total,
      mbPerSecond: rate / 1e6,
      etaSeconds: rate > 0 ? Math.max(0, (this.total - this.bytes) / rate) : undefined,
    };
  }
}
