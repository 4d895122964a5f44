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
export {
  replayBatch,
  ReplayError,
  type ReplayDeps,
  type ReplayOptions,
  type ReplayResult,
  type UnpackQueue,
} from './batch-replay.js';
export {
  DeadHostDetector,
  type DeadHostDetectorDeps,
  type DeadHostDetectorOptions,
  type DeadHostReplay,
} from './dead-host-detector.js';
