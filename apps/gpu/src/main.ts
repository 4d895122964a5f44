// The GPU app as a process: `node dist/main.js` in production, `pnpm dev` with reload.
import { runMain } from '@audio/config';
import { createLogger } from '@audio/logger';
import { closeOnSignals } from '@audio/queues';
import { readGpuConfig } from './config.js';
import { startGpuApp } from './gpu-app.js';

runMain(async () => {
  const logger = createLogger({ name: 'gpu' });
  const app = await startGpuApp({ logger });
  closeOnSignals([app], { timeoutMs: readGpuConfig().shutdownTimeoutMs, logger });
});
