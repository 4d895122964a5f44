import type { Queue, Worker } from 'bullmq';
import type { Logger } from '@audio/logger';

/**
 * A host takes a new archive from the shared unpack queue only while its own backlog (files waiting
 * in its convert and transcribe queues) is below a limit: other hosts get the archive instead.
 * Pausing the local worker stops it fetching; the jobs stay in the shared queue.
 */
export class BacklogGate {
  private timer: NodeJS.Timeout | undefined;
  private paused = false;

  constructor(
    /** The unpack worker now: the fetch watchdog of `StageWorkers` may replace it. */
    private readonly worker: () => Worker,
    private readonly hostQueues: Queue[],
    private readonly limit: number,
    private readonly logger: Logger,
    private readonly intervalMs = 2000,
  ) {}

  async backlog(): Promise<number> {
    const counts = await Promise.all(
      this.hostQueues.map((q) => q.getJobCounts('waiting', 'active', 'delayed', 'prioritized')),
    );
    return counts.reduce((sum, c) => sum + Object.values(c).reduce((a, b) => a + b, 0), 0);
  }

  async check(): Promise<void> {
    const backlog = await this.backlog();
    const worker = this.worker();
    if (backlog >= this.limit && (!this.paused || !worker.isPaused())) {
      // Also when a replaced worker came up unpaused while the gate was closed.
      const closing = !this.paused;
      this.paused = true;
      await worker.pause(true);
      if (closing)
        this.logger.info({ backlog, limit: this.limit }, 'backlog over the limit: taking no new archive');
    } else if (backlog < this.limit && this.paused) {
      this.paused = false;
      worker.resume();
      this.logger.info({ backlog, limit: this.limit }, 'backlog below the limit: taking archives again');
    }
  }

  start(): void {
    const tick = () =>
      void this.check().catch((error: unknown) => this.logger.warn({ err: error }, 'backlog check failed'));
    tick();
    this.timer = setInterval(tick, this.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }
}
