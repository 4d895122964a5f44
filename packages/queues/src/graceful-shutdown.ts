import type { Logger } from '@audio/logger';

export interface Closable {
  close(force?: boolean): Promise<void>;
}

/**
 * On SIGTERM/SIGINT: stop taking jobs and let running ones finish, for at most `timeoutMs`; then
 * force-close. A job cut short comes back through BullMQ's stalled-job check on another worker.
 * Returns a function that runs the same shutdown (for tests and embedding).
 */
export function closeOnSignals(
  closables: Closable[],
  options: { timeoutMs: number; logger: Logger; exit?: boolean; after?: () => Promise<void> },
): () => Promise<void> {
  let closing: Promise<void> | undefined;
  const shutdown = () => {
    closing ??= (async () => {
      options.logger.info({ timeoutMs: options.timeoutMs }, 'shutting down: waiting for running jobs');
      let timer: NodeJS.Timeout | undefined;
      const timedOut = new Promise<'timeout'>((resolve) => {
        timer = setTimeout(() => resolve('timeout'), options.timeoutMs);
      });
      const graceful = Promise.all(closables.map((c) => c.close())).then(() => 'closed' as const);
      const outcome = await Promise.race([graceful, timedOut]);
      clearTimeout(timer);
      if (outcome === 'timeout') {
        options.logger.warn('running jobs did not finish in time: forcing close (they will be retried)');
        await Promise.all(closables.map((c) => c.close(true).catch(() => undefined)));
      }
      await options.after?.();
      options.logger.info('shut down');
    })();
    return closing;
  };
  const onSignal = (signal: NodeJS.Signals) => {
    options.logger.info({ signal }, 'signal received');
    void shutdown().then(() => {
      if (options.exit !== false) process.exit(0);
    });
  };
  process.once('SIGTERM', onSignal);
  process.once('SIGINT', onSignal);
  return shutdown;
}
