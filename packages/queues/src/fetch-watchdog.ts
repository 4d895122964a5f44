/** What the fetch watchdog sees of one worker at a check. */
export interface FetchSample {
  /** The worker is running and not paused: it should be taking jobs. */
  fetching: boolean;
  /** Jobs it could take now (waiting or prioritized in its queue). */
  takeable: number;
  /** Jobs it started since the previous check. */
  started: number;
  /** Jobs it runs now, and how many it may run at once. */
  running: number;
  concurrency: number;
}

/** Consecutive checks at which a worker took nothing while it could: it is then replaced. */
export const FETCH_STRIKES_TO_REPLACE = 2;

/**
 * The strikes of a worker after one more check: one more when jobs waited, it had room for one and
 * started none; none as soon as it starts a job, is full, paused, or nothing waits.
 *
 * Why: after a Redis failover (a Cluster master killed and its replica promoted, a Sentinel switch), a
 * BullMQ worker whose blocking connection was on the dead node can stay "running" without ever fetching
 * again, silently (taskforcesh/bullmq#3088, #3185; the maintainers' advice is to close such a worker and
 * create a new one). Jobs that wait while a worker with room starts none is that state, whatever the cause.
 */
export function nextFetchStrikes(strikes: number, sample: FetchSample): number {
  const idleWithWork =
    sample.fetching && sample.takeable > 0 && sample.started === 0 && sample.running < sample.concurrency;
  return idleWithWork ? strikes + 1 : 0;
}
