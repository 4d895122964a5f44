// The unpack app as a process: `node dist/main.js` in production, `pnpm dev` with reload.
import { runMain } from '@audio/config';
import { createLogger } from '@audio/logger';
import { closeOnSignals } from '@audio/queues';
import { readUnpackConfig } from './config.js';
import { startUnpackApp } from './unpack-app.js';

runMain(async () => {
  const logger = createLogger({ name: 'unpack' });
  const app = await startUnpackApp({ logger });
  closeOnSignals([app], { timeoutMs: readUnpackConfig().shutdownTimeoutMs, logger });
});
