export * from './sidecar/index.js';
export { startGpuApp, type GpuApp } from './gpu-app.js';
export { readGpuConfig, type GpuConfig } from './config.js';
export { transcribeFile, type TranscribeDeps, type TranscribeResult } from './transcribe-handler.js';
export { finalizeBatch, type FinalizeDeps, type FinalizeResult } from './finalize-handler.js';
