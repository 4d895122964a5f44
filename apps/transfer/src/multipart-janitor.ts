import type { Logger } from '@audio/logger';
import type { AbortedUpload, ObjectStore } from '@audio/storage';

/**
 * Swift has no lifecycle rules, so nothing removes the parts of an upload that was abandoned (a crashed
 * uploader that never resumed, an API client that gave up). This aborts multipart uploads older than
 * `olderThanMs` — long enough for a resumable upload to be resumed — every `intervalMs`. Several
 * transfer processes may run it at once: an abort is idempotent.
 */
export class MultipartJanitor {
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly store: ObjectStore,
    private readonly options: { olderThanMs: number; intervalMs: number; logger?: Logger },
  ) {}

  async runOnce(): Promise<AbortedUpload[]> {
    const aborted = await this.store.abortStaleMultipartUploads(this.options.olderThanMs);
    if (aborted.length > 0) this.options.logger?.info({ aborted }, 'aborted stale multipart uploads');
    return aborted;
  }

  start(): void {
    const tick = () =>
      void this.runOnce().catch((err: unknown) =>
        this.options.logger?.warn({ err }, 'multipart janitor failed'),
      );
    this.timer = setInterval(tick, this.options.intervalMs);
    this.timer.unref();
    tick();
  }

  stop(): void {
    clearInterval(this.timer);
  }
}
