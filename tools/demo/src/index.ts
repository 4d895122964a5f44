export { prepareDemoEnvironment, ensureDatabase, type DemoEnvironment } from './demo-environment.js';
export { InProcessPipeline, type BatchSummary } from './in-process-pipeline.js';
export { formatSummary, summaryJson } from './summary-report.js';
