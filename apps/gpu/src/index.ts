export * from './sidecar/index.js';
export { startGpuApp, type GpuApp } from './gpu-app.js';
export { readGpuConfig, type GpuConfig } from './config.js';
export { transcribeFile, createTranscribeWorker, type TranscribeResult } from './transcribe-worker.js';
export { finalizeBatch, createFinalizeWorker, type FinalizeResult } from './finalize-worker.js';
