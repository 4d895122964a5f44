import crypto from 'node:crypto';
import { z } from 'zod';
import {
  bytesFromEnv,
  ConfigError,
  durationFromEnv,
  envConfig,
  fromEnv,
  integerFromEnv,
  readEnv,
} from '@audio/config';
import { DEMO_POLICY_FILE } from '../review/review-policy.js';

const timeOfDay = z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'must be a time of day HH:MM');
const timeZone = z.string().refine((zone) => {
  try {
    new Intl.DateTimeFormat('en', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}, 'must be an IANA time zone such as Europe/Berlin or UTC');

const healthEnv = envConfig({
  /** A batch neither complete nor failed this long after its transfer is stuck. */
  stuckAfterMs: fromEnv('STUCK_BATCH_AFTER', durationFromEnv.default(2 * 3_600_000), '2h'),
  /** IANA zone of the research team's working day. */
  timeZone: fromEnv('NOON_TIME_ZONE', timeZone.default('UTC'), 'Europe/Berlin'),
  /** Archives transferred before this local time are due today (HH:MM). */
  cutoff: fromEnv('NOON_CUTOFF', timeOfDay.default('06:00'), '06:00'),
  /** ... and must be complete (flagged items in the review queue) by this local time (HH:MM). */
  deadline: fromEnv('NOON_DEADLINE', timeOfDay.default('12:00'), '12:00'),
  /** The noon forecast measures each host's files per second over this recent window. */
  throughputWindowMs: fromEnv(
    'NOON_THROUGHPUT_WINDOW',
    durationFromEnv.pipe(z.number().min(60_000, 'must be at least 1m')).default(3_600_000),
    '1h',
  ),
  /** A host whose heartbeat reports less free scratch than this is unhealthy. */
  minFreeScratchBytes: fromEnv('HEALTH_MIN_FREE_SCRATCH', bytesFromEnv.default(10 * 1024 ** 3), '10GiB'),
  /** Each check gives up after this long. */
  timeoutMs: fromEnv('HEALTH_CHECK_TIMEOUT', durationFromEnv.pipe(z.number().min(100)).default(3_000), '3s'),
}).transform(({ timeZone, cutoff, deadline, ...rest }) => ({
  ...rest,
  noon: { timeZone, cutoff, deadline },
}));

/** What /health and the health CLI judge by. */
export type HealthSettings = z.output<typeof healthEnv>;
export type NoonTargetSettings = HealthSettings['noon'];

/** STUCK_BATCH_AFTER, NOON_TIME_ZONE/CUTOFF/DEADLINE/THROUGHPUT_WINDOW, HEALTH_MIN_FREE_SCRATCH, HEALTH_CHECK_TIMEOUT. */
export function readHealthSettings(env: NodeJS.ProcessEnv = process.env): HealthSettings {
  return readEnv(healthEnv, env);
}

const dashboardEnv = envConfig({
  nodeEnv: { variable: 'NODE_ENV', schema: z.string().optional() },
  port: fromEnv('DASHBOARD_PORT', integerFromEnv(0, 65535).default(3000), '3000'),
  host: fromEnv('DASHBOARD_HOST', z.string().min(1).default('127.0.0.1'), '0.0.0.0'),
  sessionSecret: fromEnv(
    'SESSION_SECRET',
    z.string().min(32, 'must be at least 32 characters').optional(),
    '$(openssl rand -hex 32)',
  ),
  sessionTtlMs: fromEnv(
    'SESSION_TTL',
    durationFromEnv.pipe(z.number().min(60_000, 'must be at least 1m')).default(12 * 3_600_000),
    '12h',
  ),
  trustProxy: fromEnv('TRUST_PROXY', z.string().optional(), 'loopback'),
  adminUser: fromEnv('DASHBOARD_ADMIN_USER', z.string().trim().min(1).max(64).optional(), 'admin'),
  adminPassword: fromEnv(
    'DASHBOARD_ADMIN_PASSWORD',
    z.string().min(12, 'must be at least 12 characters').optional(),
    'a-long-passphrase',
  ),
  /** When set, /health and /metrics require `Authorization: Bearer <token>`. */
  metricsToken: fromEnv(
    'METRICS_TOKEN',
    z.string().min(16, 'must be at least 16 characters').optional(),
    '$(openssl rand -hex 24)',
  ),
  /** Failed logins allowed per client address per window. */
  loginRateLimit: fromEnv('LOGIN_RATE_LIMIT', integerFromEnv(1, 10_000).default(10), '10'),
  loginRateWindowMs: fromEnv('LOGIN_RATE_WINDOW', durationFromEnv.default(15 * 60_000), '15m'),
  /** How often worker heartbeats are read for new host-affine queues. */
  queueDiscoveryIntervalMs: fromEnv(
    'QUEUE_DISCOVERY_INTERVAL',
    durationFromEnv.pipe(z.number().min(100)).default(30_000),
    '30s',
  ),
  /** How long a reviewer holds an item of the review queue. */
  reviewLeaseMs: fromEnv(
    'REVIEW_LEASE',
    durationFromEnv.pipe(z.number().min(60_000)).default(30 * 60_000),
    '30m',
  ),
  /** The policy whose text the review page shows: the file the GPU hosts classify with. */
  policyFile: fromEnv(
    'POLICY_FILE',
    z.string().min(1).default(DEMO_POLICY_FILE),
    '/etc/audio-pipeline/policy.json',
  ),
  audioUrlTtlMs: fromEnv(
    'REVIEW_AUDIO_URL_TTL',
    durationFromEnv
      .pipe(
        z
          .number()
          .min(60_000)
          .max(7 * 86_400_000),
      )
      .default(3_600_000),
    '1h',
  ),
}).transform(({ nodeEnv, adminUser, adminPassword, audioUrlTtlMs, ...e }) => {
  const production = nodeEnv === 'production';
  if (production && !e.sessionSecret) {
    throw new ConfigError(
      'SESSION_SECRET',
      'SESSION_SECRET is required when NODE_ENV=production; example: SESSION_SECRET=$(openssl rand -hex 32)',
    );
  }
  if (Boolean(adminUser) !== Boolean(adminPassword)) {
    const missing = adminUser ? 'DASHBOARD_ADMIN_PASSWORD' : 'DASHBOARD_ADMIN_USER';
    throw new ConfigError(
      missing,
      `${missing} is required when ${missing === 'DASHBOARD_ADMIN_USER' ? 'DASHBOARD_ADMIN_PASSWORD' : 'DASHBOARD_ADMIN_USER'} is set; example: DASHBOARD_ADMIN_USER=admin DASHBOARD_ADMIN_PASSWORD=a-long-passphrase`,
    );
  }
  return {
    ...e,
    production,
    sessionSecret: e.sessionSecret ?? crypto.randomBytes(32).toString('hex'),
    /** True when SESSION_SECRET was unset and a random one was made (sessions end on restart). */
    sessionSecretGenerated: !e.sessionSecret,
    /** Express `trust proxy`: false, true, a hop count or a list of addresses/subnets. */
    trustProxy: parseTrustProxy(e.trustProxy),
    /** The first admin, created at start-up when no active admin exists. */
    firstAdmin: adminUser && adminPassword ? { username: adminUser, password: adminPassword } : null,
    metricsToken: e.metricsToken ?? null,
    /** Lifetime of the presigned URL of an item's Opus file. */
    audioUrlTtlSeconds: Math.round(audioUrlTtlMs / 1000),
  };
});

/**
 * The dashboard's settings. SESSION_SECRET is required when NODE_ENV=production; elsewhere a random
 * one is generated (the caller logs a warning: sessions then end with the process).
 */
export function readDashboardConfig(env: NodeJS.ProcessEnv = process.env): DashboardConfig {
  return { ...readEnv(dashboardEnv, env), health: readHealthSettings(env) };
}

export type DashboardConfig = z.output<typeof dashboardEnv> & { health: HealthSettings };

/** `true`/`false`, a hop count, or what Express accepts as a list (`loopback, 10.0.0.0/8`). */
function parseTrustProxy(value: string | undefined): boolean | number | string {
  if (value === undefined) return false;
  const lower = value.trim().toLowerCase();
  if (['true', 'yes'].includes(lower)) return true;
  if (['false', 'no', '0'].includes(lower)) return false;
  if (/^\d+$/.test(lower)) return Number(lower);
  return value;
}
