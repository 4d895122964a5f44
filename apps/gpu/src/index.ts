export * from './sidecar/index.js';
export { startGpuApp, type GpuApp } from './gpu-app.js';
export { readGpuConfig, type GpuConfig } from './config.js';
export { transcribeFile, type TranscribeDeps, type TranscribeResult } from './transcribe-handler.js';
export { finalizeBatch, type FinalizeDeps, type FinalizeResult } from './finalize-handler.js';
export { classifyStoredTranscripts, type ClassifyDeps, type ClassifyResult } from './classify-handler.js';
export { ActivePolicy, addPolicyFile, storedPolicy } from './policy-store.js';
export {
  reclassify,
  resolvePolicy,
  type ReclassifyOptions,
  type ReclassifyProgress,
  type ReclassifySummary,
} from './reclassify.js';
