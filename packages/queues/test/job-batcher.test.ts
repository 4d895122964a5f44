import { afterEach, beforeEach, describe, expect, it, jest } from '@jest/globals';
import { JobBatcher } from '../src/job-batcher.js';

interface Item {
  key: string;
}

/** A processor whose calls stay unanswered until the test answers them. */
function controlledProcessor() {
  const calls: { keys: string[]; answer: () => void; fail: (error: Error) => void }[] = [];
  return {
    calls,
    process: (items: Item[]) =>
      new Promise<Item[]>((resolve, reject) => {
        calls.push({ keys: items.map((i) => i.key), answer: () => resolve(items), fail: reject });
      }),
  };
}

beforeEach(() => {
  jest.useFakeTimers();
});
afterEach(() => {
  jest.useRealTimers();
});

describe('JobBatcher', () => {
  it('sends a full batch at once and a partial one maxWaitMs after its first item', async () => {
    const processor = controlledProcessor();
    const batcher = new JobBatcher<Item, Item>(processor, { maxBatch: 2, maxWaitMs: 50 });
    const results = ['a', 'b', 'c'].map((key) => batcher.submit({ key }));
    expect(processor.calls.map((c) => c.keys)).toEqual([['a', 'b']]);
    jest.advanceTimersByTime(49);
    expect(processor.calls).toHaveLength(1);
    jest.advanceTimersByTime(1);
    expect(processor.calls.map((c) => c.keys)).toEqual([['a', 'b'], ['c']]);
    processor.calls.forEach((c) => c.answer());
    expect((await Promise.all(results)).map((r) => r.key)).toEqual(['a', 'b', 'c']);
  });

  it('with maxInFlight, items gather while calls are out and leave the moment one is answered', async () => {
    const processor = controlledProcessor();
    const batcher = new JobBatcher<Item, Item>(processor, { maxBatch: 3, maxWaitMs: 10, maxInFlight: 1 });
    const first = ['a', 'b', 'c'].map((key) => batcher.submit({ key }));
    const later = ['d', 'e'].map((key) => batcher.submit({ key }));
    jest.advanceTimersByTime(1_000); // long past maxWaitMs: still only one call out
    expect(processor.calls.map((c) => c.keys)).toEqual([['a', 'b', 'c']]);
    const more = batcher.submit({ key: 'f' });
    processor.calls[0]!.answer();
    await Promise.all(first);
    expect(processor.calls.map((c) => c.keys)).toEqual([
      ['a', 'b', 'c'],
      ['d', 'e', 'f'],
    ]);
    processor.calls[1]!.answer();
    expect((await Promise.all([...later, more])).map((r) => r.key)).toEqual(['d', 'e', 'f']);
  });

  it('rejects every job of a failed call, and a job whose result is missing', async () => {
    const batcher = new JobBatcher<Item, Item>(
      { process: async (items) => items.filter((i) => i.key !== 'lost') },
      { maxBatch: 2, maxWaitMs: 5 },
    );
    const [kept, lost] = [batcher.submit({ key: 'kept' }), batcher.submit({ key: 'lost' })];
    await expect(kept).resolves.toEqual({ key: 'kept' });
    await expect(lost).rejects.toThrow('the batch returned no result for lost');

    const processor = controlledProcessor();
    const failing = new JobBatcher<Item, Item>(processor, { maxBatch: 2, maxWaitMs: 5 });
    const both = [failing.submit({ key: 'x' }), failing.submit({ key: 'y' })];
    processor.calls[0]!.fail(new Error('sidecar unavailable'));
    for (const job of both) await expect(job).rejects.toThrow('sidecar unavailable');
  });
});
