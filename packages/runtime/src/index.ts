export { openConnections, type Connections, type ConnectionsOptions } from './connections.js';
export {
  startWorkerApp,
  type WorkerApp,
  type WorkerAppOptions,
  type WorkerAppParts,
  type WorkerAppSpec,
  type WorkerContext,
} from './worker-app.js';
export { releaseOf } from './release.js';
