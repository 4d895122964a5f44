import { describe, expect, it } from '@jest/globals';
import { FETCH_STRIKES_TO_REPLACE, nextFetchStrikes, type FetchSample } from '../src/fetch-watchdog.js';

const stuck: FetchSample = { fetching: true, takeable: 3, started: 0, running: 0, concurrency: 2 };

describe('nextFetchStrikes', () => {
  it('counts checks at which jobs waited and a worker with room started none', () => {
    let strikes = 0;
    for (let i = 0; i < FETCH_STRIKES_TO_REPLACE; i++) strikes = nextFetchStrikes(strikes, stuck);
    expect(strikes).toBe(FETCH_STRIKES_TO_REPLACE);
    expect(nextFetchStrikes(0, { ...stuck, running: 1 })).toBe(1); // room for one more
  });

  it('clears them when the worker starts a job, is full, paused, or nothing waits', () => {
    expect(nextFetchStrikes(1, { ...stuck, started: 1 })).toBe(0);
    expect(nextFetchStrikes(1, { ...stuck, running: 2 })).toBe(0);
    expect(nextFetchStrikes(1, { ...stuck, fetching: false })).toBe(0);
    expect(nextFetchStrikes(1, { ...stuck, takeable: 0 })).toBe(0);
  });
});
