export { startDashboard, type StartDashboardOptions, type RunningDashboard } from './start-dashboard.js';
export { createDashboardApp, type DashboardDeps, type DashboardApp } from './dashboard-app.js';
export {
  readDashboardConfig,
  readHealthSettings,
  type DashboardConfig,
  type HealthSettings,
  type NoonTargetSettings,
} from './dashboard-config.js';
export {
  HealthChecker,
  type HealthReport,
  type HealthDeps,
  type DependencyStatus,
  type QueueDepth,
  type HostStatus,
  type WorkerStatus,
} from './health-check.js';
export { checkHealthFromEnv, runHealthCli, HEALTH_EXIT, type CliIo } from './health-command.js';
export { runUsersCli } from './users-command.js';
export { QueueRegistry } from './queue-registry.js';
export { UserAccounts, AccountError, MIN_PASSWORD_LENGTH, type FirstAdminOutcome } from './user-accounts.js';
export { hashPassword, verifyPassword } from './password-hasher.js';
export { can, homePath, type Permission } from './roles.js';
export {
  BatchOverview,
  type BatchSummary,
  type BatchDetail,
  type BatchEntry,
  type FlowCounts,
  type JobTiming,
} from './batch-overview.js';
export { CODEBOOK } from './review-routes.js';
export { waitForRedis } from './redis-ready.js';
