/**
 * How a sidecar call can fail. A worker retries a job on `SidecarRetryableError`, fails it
 * permanently on `SidecarRequestError`, and on `SidecarUnavailableError` stops taking jobs: the
 * sidecar crashed too often to be worth another try.
 */

/** The request was interrupted (crash, hang, garbage line, shutdown) more times than allowed. */
export class SidecarRetryableError extends Error {
  readonly retryable = true;

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'SidecarRetryableError';
  }
}

/** The sidecar gave up (too many crashes in the window, or a configuration error at startup). */
export class SidecarUnavailableError extends Error {
  readonly retryable = false;

  constructor(
    message: string,
    /** The sidecar's last stderr lines, oldest first: usually they say what went wrong. */
    readonly stderrTail: readonly string[] = [],
  ) {
    super(message);
    this.name = 'SidecarUnavailableError';
  }
}

/** The sidecar answered this request with an error reply (e.g. `bad_policy`): retrying won't help. */
export class SidecarRequestError extends Error {
  readonly retryable = false;

  constructor(
    readonly code: string,
    message: string,
  ) {
    super(`sidecar rejected the request (${code}): ${message}`);
    this.name = 'SidecarRequestError';
  }
}
