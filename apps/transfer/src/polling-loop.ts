import type { Logger } from '@audio/logger';

/**
 * Runs `work` now and then every `intervalMs` after the previous run ended, never two at once. A failed
 * run is logged and the next one comes on schedule. close() waits for a run in progress, or aborts it
 * (its AbortSignal) when forced.
 */
export class PollingLoop<T> {
  private timer: NodeJS.Timeout | undefined;
  private current: Promise<T> | undefined;
  private readonly controller = new AbortController();
  private closed = false;
  private started = false;

  constructor(
    private readonly intervalMs: number,
    private readonly work: (signal: AbortSignal) => Promise<T>,
    private readonly logger?: Logger,
  ) {}

  /** Runs once now, or joins the run in progress. */
  runNow(): Promise<T> {
    if (this.closed) return Promise.reject(new Error('this source is closed'));
    this.current ??= this.work(this.controller.signal).finally(() => {
      this.current = undefined;
    });
    return this.current;
  }

  start(): void {
    if (this.started || this.closed) return;
    this.started = true;
    this.tick();
  }

  private tick(): void {
    if (this.closed) return;
    void this.runNow()
      .catch((err: unknown) => {
        if (!this.closed) this.logger?.warn({ err }, 'poll failed; trying again at the next interval');
      })
      .finally(() => {
        if (this.closed) return;
        this.timer = setTimeout(() => this.tick(), this.intervalMs);
      });
  }

  async close(force = false): Promise<void> {
    this.closed = true;
    clearTimeout(this.timer);
    if (force) this.controller.abort(new Error('source closed'));
    await this.current?.catch(() => undefined);
  }
}

/**
 * A source that looks for archives every `intervalMs` (SFTP, the inbox): `pollOnce()` for one look now,
 * `start()` to poll until `close()`, which waits for a look in progress or, forced, aborts it (an upload
 * it was making can resume).
 */
export abstract class PolledSource<T> {
  private readonly loop: PollingLoop<T>;

  constructor(intervalMs: number, logger?: Logger) {
    this.loop = new PollingLoop(intervalMs, (signal) => this.poll(signal), logger);
  }

  /** One look; ingests what is ready. */
  protected abstract poll(signal: AbortSignal): Promise<T>;

  /** One look now, or the one in progress. */
  pollOnce(): Promise<T> {
    return this.loop.runNow();
  }

  start(): void {
    this.loop.start();
  }

  close(force = false): Promise<void> {
    return this.loop.close(force);
  }
}
