// The dashboard as a process: `node dist/main.js` in production, `pnpm dev` with reload.
import { runMain } from '@audio/config';
import { createLogger } from '@audio/logger';
import { closeOnSignals } from '@audio/queues';
import { startDashboard } from './server/start-dashboard.js';

runMain(async () => {
  const logger = createLogger({ name: 'dashboard' });
  const dashboard = await startDashboard({ logger });
  closeOnSignals([{ close: () => dashboard.close() }], { timeoutMs: 10_000, logger });
});
