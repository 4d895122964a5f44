export {
  startDashboard,
  type StartDashboardOptions,
  type RunningDashboard,
} from './server/start-dashboard.js';
export { createDashboardApp, type DashboardDeps, type DashboardApp } from './server/dashboard-app.js';
export {
  readDashboardConfig,
  readHealthSettings,
  type DashboardConfig,
  type HealthSettings,
  type NoonTargetSettings,
} from './server/dashboard-config.js';
export {
  HealthChecker,
  type HealthReport,
  type HealthDeps,
  type DependencyStatus,
  type QueueDepth,
  type HostStatus,
  type WorkerStatus,
} from './operations/health-check.js';
export { checkHealthFromEnv, runHealthCli, HEALTH_EXIT, type CliIo } from './operations/health-command.js';
export { runUsersCli } from './auth/users-command.js';
export { QueueRegistry } from './operations/queue-registry.js';
export {
  UserAccounts,
  AccountError,
  MIN_PASSWORD_LENGTH,
  type FirstAdminOutcome,
} from './auth/user-accounts.js';
export { hashPassword, verifyPassword } from './auth/password-hasher.js';
export { can, homePath, type Permission } from './auth/roles.js';
export {
  BatchOverview,
  type BatchSummary,
  type BatchDetail,
  type BatchEntry,
  type FlowCounts,
  type JobTiming,
} from './operations/batch-overview.js';
export { CODEBOOK } from './review/review-routes.js';
export { waitForRedis } from './server/redis-ready.js';
export { evaluatePolicy, type PolicyEvaluation } from './research/policy-evaluation.js';
export { wilsonInterval, cohensKappa, estimateRecall } from './research/evaluation-statistics.js';
