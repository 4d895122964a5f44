/** What a batcher hands its items to: one call for many items, one result per item key. */
export interface BatchProcessor<Item extends { key: string }, Result extends { key: string }> {
  process(items: Item[]): Promise<Result[]>;
}

export interface JobBatcherOptions {
  /** Items per call at most. */
  maxBatch: number;
  /** How long the first item of a batch that is not full waits for company. */
  maxWaitMs: number;
  /**
   * Calls unanswered at once (default: no limit). While that many are out, items gather into the next
   * batch, which leaves the moment one is answered: a GPU sidecar then gets full batches when it is the
   * bottleneck, and its next batch is already waiting when it finishes one.
   */
  maxInFlight?: number;
}

interface Pending<Item, Result> {
  item: Item;
  queuedAt: number;
  resolve: (result: Result) => void;
  reject: (error: unknown) => void;
}

/**
 * Collects the items of concurrently running jobs into one call: BullMQ hands a worker one job per
 * processor call, while a GPU sidecar wants batches and ffmpeg pays its start-up once per process. A
 * batch leaves when it is full or `maxWaitMs` after its first item, as long as fewer than `maxInFlight`
 * calls are unanswered; each job gets its own result back.
 */
export class JobBatcher<Item extends { key: string }, Result extends { key: string }> {
  private queue: Pending<Item, Result>[] = [];
  private timer: NodeJS.Timeout | undefined;
  private inFlight = 0;
  private readonly maxInFlight: number;

  constructor(
    private readonly processor: BatchProcessor<Item, Result>,
    private readonly options: JobBatcherOptions,
  ) {
    this.maxInFlight = Math.max(1, options.maxInFlight ?? Infinity);
  }

  submit(item: Item): Promise<Result> {
    return new Promise<Result>((resolve, reject) => {
      this.queue.push({ item, queuedAt: Date.now(), resolve, reject });
      this.dispatch();
    });
  }

  /** Sends every batch that is due (full, or its first item waited long enough) while calls are allowed. */
  private dispatch(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    while (this.queue.length > 0 && this.inFlight < this.maxInFlight) {
      const waitLeftMs = this.queue[0]!.queuedAt + this.options.maxWaitMs - Date.now();
      if (this.queue.length < this.options.maxBatch && waitLeftMs > 0) {
        this.timer = setTimeout(() => this.dispatch(), waitLeftMs);
        return;
      }
      void this.send(this.queue.splice(0, this.options.maxBatch));
    }
  }

  private async send(batch: Pending<Item, Result>[]): Promise<void> {
    this.inFlight++;
    try {
      const results = await this.processor.process(batch.map((p) => p.item));
      const byKey = new Map(results.map((r) => [r.key, r]));
      for (const pending of batch) {
        const result = byKey.get(pending.item.key);
        if (result) pending.resolve(result);
        else pending.reject(new Error(`the batch returned no result for ${pending.item.key}`));
      }
    } catch (error) {
      for (const pending of batch) pending.reject(error);
    } finally {
      this.inFlight--;
      this.dispatch();
    }
  }
}
