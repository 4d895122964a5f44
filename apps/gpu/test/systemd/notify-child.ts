// Run by systemd-notify.test.ts through bin/sd-notify-exec, as bin/audio-pipeline runs the gpu app.
import { systemdNotifier } from '../../src/systemd-notify.js';

const notifier = systemdNotifier(process.env, {
  warn: (...args: unknown[]) => console.error('warn', ...args),
  error: (...args: unknown[]) => console.error('error', ...args),
} as never);
notifier.status('starting: loading models');
notifier.ready('ready: sidecar fake');
notifier.stopping();
// What the sidecar, a child, would inherit.
process.stdout.write(
  `${JSON.stringify({ active: notifier.active, inherited: [process.env.NOTIFY_SOCKET ?? null, process.env.NOTIFY_SOCKET_FD ?? null] })}\n`,
);
