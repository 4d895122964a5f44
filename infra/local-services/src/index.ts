export {
  ensureServices,
  describeServices,
  killPids,
  type EnsureOptions,
  type ServiceReport,
  type Services,
  type S3ServerKind,
} from './services.js';
export { freePort, waitForPort } from './ports.js';
export { findProgram, requireProgram } from './system-packages.js';
export { readState } from './state.js';
