// The GPU app as a process: `node dist/main.js` in production, `pnpm dev` with reload.
import { runMain } from '@audio/config';
import { createLogger } from '@audio/logger';
import { closeOnSignals } from '@audio/queues';
import { readGpuConfig } from './config.js';
import { startGpuApp } from './gpu-app.js';
import { systemdNotifier } from './systemd-notify.js';

runMain(async () => {
  const logger = createLogger({ name: 'gpu' });
  // Before anything reads process.env: the sidecar must not inherit NOTIFY_SOCKET.
  const notifier = systemdNotifier(process.env, logger);
  notifier.status('starting: the sidecar is loading its models');
  const app = await startGpuApp({ logger });
  // The unit is Type=notify: its start (TimeoutStartSec, units ordered after it) ends here, once the
  // sidecar's ready handshake has come and the workers run, not when node was exec'd.
  const { backend, device, modelVersions } = app.sidecar.info ?? {};
  const models = Object.entries(modelVersions ?? {})
    .map(([name, version]) => `${name}@${version}`)
    .join(' ');
  notifier.ready(`ready: sidecar ${backend ?? '?'} on ${device ?? '?'}${models ? `, models ${models}` : ''}`);
  const shutdownTimeoutMs = readGpuConfig().shutdownTimeoutMs;
  const onSignal = () =>
    notifier.stopping(`stopping: waiting up to ${Math.round(shutdownTimeoutMs / 1000)} s for running jobs`);
  process.once('SIGTERM', onSignal);
  process.once('SIGINT', onSignal);
  closeOnSignals([app], { timeoutMs: shutdownTimeoutMs, logger });
});
