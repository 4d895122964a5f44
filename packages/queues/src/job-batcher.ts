/** What a batcher hands its items to: one call for many items, one result per item key. */
export interface BatchProcessor<Item extends { key: string }, Result extends { key: string }> {
  process(items: Item[]): Promise<Result[]>;
}

interface Pending<Item, Result> {
  item: Item;
  resolve: (result: Result) => void;
  reject: (error: unknown) => void;
}

/**
 * Collects the items of concurrently running jobs into one call: BullMQ hands a worker one job per
 * processor call, while a GPU sidecar wants batches and ffmpeg pays its start-up once per process. A
 * batch leaves when it is full or `maxWaitMs` after its first item; each job gets its own result back.
 */
export class JobBatcher<Item extends { key: string }, Result extends { key: string }> {
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
    while (this.queue.length > 0) void this.send(this.queue.splice(0, this.options.maxBatch));
  }

  private async send(batch: Pending<Item, Result>[]): Promise<void> {
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
    }
  }
}
