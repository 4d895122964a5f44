// A development tool: the AWS SDK's notice that its 2027 releases need Node 22 is for production
// operators (see the README), not for every demo and test run on Node 20.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

export {
  ensureServices,
  describeServices,
  killPids,
  type EnsureOptions,
  type ServiceReport,
  type Services,
  type S3ServerKind,
} from './services.js';
export { freePort, waitForPort, STARTUP_DEADLINE_MS } from './ports.js';
export { findProgram, requireProgram } from './system-packages.js';
export {
  isAlive,
  readState,
  writeState,
  removeState,
  readDevSession,
  writeDevSession,
  removeDevSession,
  LOCAL_DATA_DIR,
  type SupervisorState,
} from './state.js';
export { startRedis } from './redis.js';
export { configuredS3, ensureBucket, removeBucket, type S3Settings } from './s3.js';
export { startRedisCluster, type RedisCluster, type ClusterNode } from './redis-cluster.js';
