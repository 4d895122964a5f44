export {
  FaultProxy,
  isUploadPart,
  standardFaults,
  type Fault,
  type FaultRule,
  type FaultProxyOptions,
  type ProxiedRequest,
} from './fault-proxy.js';
export { makeTempDir, writeRandomFile, sha256File } from './test-files.js';
export { testS3Client, testStorageConfig, testStore, uniquePrefix } from './test-store.js';
