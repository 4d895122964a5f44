/**
 * Crashes within a sliding window: decides how long to wait before the next restart
 * (exponential backoff) and when to give up (too many crashes in the window).
 */
export class CrashHistory {
  private times: number[] = [];

  constructor(
    private readonly maxCrashes: number,
    private readonly windowMs: number,
    private readonly backoff: { initialMs: number; maxMs: number },
    private readonly now: () => number = Date.now,
  ) {}

  /** Records a crash; returns how many crashes the window now holds. */
  record(): number {
    const now = this.now();
    this.times = this.times.filter((t) => now - t < this.windowMs);
    this.times.push(now);
    return this.times.length;
  }

  get count(): number {
    const now = this.now();
    return this.times.filter((t) => now - t < this.windowMs).length;
  }

  get exhausted(): boolean {
    return this.count >= this.maxCrashes;
  }

  /** initialMs, 2×, 4×, ... for consecutive crashes in the window, capped at maxMs. */
  nextDelayMs(): number {
    const exponent = Math.max(0, this.count - 1);
    return Math.min(this.backoff.maxMs, this.backoff.initialMs * 2 ** exponent);
  }

  reset(): void {
    this.times = [];
  }
}
