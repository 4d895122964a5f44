export * from './sidecar/index.js';
