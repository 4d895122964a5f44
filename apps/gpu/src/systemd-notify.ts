import { writeSync } from 'node:fs';
import type { Logger } from '@audio/logger';

/** What the GPU app tells its service manager (systemd's sd_notify protocol); a no-op outside one. */
export interface ServiceNotifier {
  /** Whether messages go anywhere (started by systemd through bin/audio-pipeline). */
  readonly active: boolean;
  /** READY=1: the sidecar has loaded its models and the workers run; ends the unit's start timeout. */
  ready(status?: string): void;
  /** STOPPING=1: a graceful shutdown has begun. */
  stopping(status?: string): void;
  /** STATUS=…: one line shown by `systemctl status`. */
  status(text: string): void;
}

/**
 * The notifier of this process. systemd passes NOTIFY_SOCKET (a datagram socket) to a Type=notify
 * unit; Node cannot open one (no AF_UNIX datagrams in core), so bin/audio-pipeline starts the app
 * through bin/sd-notify-exec, which connects it before exec'ing node and passes its descriptor as
 * NOTIFY_SOCKET_FD. A write() to that connected socket is one datagram sent by this process, the
 * unit's main PID, as NotifyAccess=main requires. Without NOTIFY_SOCKET (a laptop, tests) nothing is
 * sent. Both variables are removed from `env` (as sd_notify's unset_environment does) so that the
 * sidecar, a child, does not take them for its own.
 */
export function systemdNotifier(
  env: Record<string, string | undefined> = process.env,
  logger?: Pick<Logger, 'warn' | 'error'>,
): ServiceNotifier {
  const socketPath = env.NOTIFY_SOCKET;
  const fdText = env.NOTIFY_SOCKET_FD;
  delete env.NOTIFY_SOCKET;
  delete env.NOTIFY_SOCKET_FD;
  if (!socketPath) return inactive;
  const fd = fdText && /^\d+$/.test(fdText) ? Number(fdText) : undefined;
  if (fd === undefined) {
    // systemd waits for a READY=1 that cannot come and stops the unit at TimeoutStartSec.
    logger?.error(
      { NOTIFY_SOCKET: socketPath, NOTIFY_SOCKET_FD: fdText },
      'NOTIFY_SOCKET is set but NOTIFY_SOCKET_FD is not: start the gpu app with bin/audio-pipeline gpu, which connects the socket; systemd will not see it ready',
    );
    return inactive;
  }
  let failed = false;
  const send = (fields: string[]) => {
    try {
      writeSync(fd, Buffer.from(fields.join('\n'), 'utf8'));
    } catch (error) {
      // A lost message must not stop the app; say it once.
      if (!failed) logger?.warn({ err: error, fields }, 'could not notify systemd');
      failed = true;
    }
  };
  const statusField = (text: string) => `STATUS=${text.replace(/\s+/g, ' ').trim()}`;
  return {
    active: true,
    ready: (status) => send(['READY=1', ...(status ? [statusField(status)] : [])]),
    stopping: (status) => send(['STOPPING=1', ...(status ? [statusField(status)] : [])]),
    status: (text) => send([statusField(text)]),
  };
}

const inactive: ServiceNotifier = {
  active: false,
  ready: () => undefined,
  stopping: () => undefined,
  status: () => undefined,
};
