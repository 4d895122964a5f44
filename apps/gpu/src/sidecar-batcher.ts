/** What the batcher needs of the sidecar: one request for many items. */
export interface BatchProcessor<Item extends { key: string }, Result extends { key: string }> {
  process(items: Item[]): Promise<Result[]>;
}

interface Pending<Item, Result> {
  item: Item;
  resolve: (result: Result) => void;
  reject: (error: unknown) => void;
}

/**
 * Collects the items of concurrently running jobs into one sidecar request: a GPU is fed batches, while
 * BullMQ hands a worker one job per call. A batch leaves when it is full or `maxWaitMs` after its first
 * item; each job gets its own result back.
 */
export class SidecarBatcher<Item extends { key: string }, Result extends { key: string }> {
  private queue: Pending<Item, Result>[] = [];
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly processor: BatchProcessor<Item, Result>,
    private readonly options: { maxBatch: number; maxWaitMs: number },
  ) {}

  submit(item: Item): Promise<Result> {
    return new Promise<Result>((resolve, reject) => {
      this.queue.push({ item, resolve, reject });
      if (this.queue.length >= this.options.maxBatch) this.flush();
      else this.timer ??= setTimeout(() => this.flush(), this.options.maxWaitMs);
    });
  }

  private flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    while (this.queue.length > 0) {
      const batch = this.queue.splice(0, this.options.maxBatch);
      void this.send(batch);
    }
  }

  private async send(batch: Pending<Item, Result>[]): Promise<void> {
    try {
      const results = await this.processor.process(batch.map((p) => p.item));
      const byKey = new Map(results.map((r) => [r.key, r]));
      for (const pending of batch) {
        const result = byKey.get(pending.item.key);
        if (result) pending.resolve(result);
        else pending.reject(new Error(`the sidecar returned no result for ${pending.item.key}`));
      }
    } catch (error) {
      for (const pending of batch) pending.reject(error);
    }
  }
}
