export {
  prepareDemoEnvironment,
  ensureDatabase,
  dropDatabase,
  type DemoEnvironment,
  type EnvironmentPurpose,
} from './demo-environment.js';
export { InProcessPipeline, type BatchSummary } from './in-process-pipeline.js';
export { formatSummary, summaryJson } from './summary-report.js';
