export { createPipelineTestEnv, FAST_STALL_RECOVERY, type PipelineTestEnv } from './pipeline-env.js';
export { spawnApp, type AppProcess } from './app-process.js';
export { startInProcessApps, type InProcessApps } from './in-process-apps.js';
export { waitForBatchDone, batchRowCounts } from './batch-state.js';
export { waitFor } from './wait.js';
