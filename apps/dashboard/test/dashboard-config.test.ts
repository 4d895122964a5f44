import { describe, expect, it } from '@jest/globals';
import { ConfigError } from '@audio/config';
import { readDashboardConfig } from '../src/index.js';

describe('readDashboardConfig', () => {
  it('has working defaults outside production, with a generated session secret', () => {
    const config = readDashboardConfig({});
    expect(config).toEqual(
      expect.objectContaining({
        port: 3000,
        host: '127.0.0.1',
        production: false,
        sessionSecretGenerated: true,
      }),
    );
    expect(config.sessionSecret).toHaveLength(64);
    expect(config.health).toEqual({
      stuckAfterMs: 7_200_000,
      noon: { timeZone: 'UTC', cutoff: '06:00', deadline: '12:00' },
      minFreeScratchBytes: 10 * 1024 ** 3,
      timeoutMs: 3000,
      throughputWindowMs: 3_600_000,
    });
    expect(config.firstAdmin).toBeNull();
    expect(config.metricsToken).toBeNull();
    expect(config.trustProxy).toBe(false);
  });

  it('requires SESSION_SECRET in production', () => {
    let error: unknown;
    try {
      readDashboardConfig({ NODE_ENV: 'production' });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).variable).toBe('SESSION_SECRET');
    expect(() => readDashboardConfig({ NODE_ENV: 'production' })).toThrow(/SESSION_SECRET is required/);
    const secret = 'x'.repeat(40);
    expect(readDashboardConfig({ NODE_ENV: 'production', SESSION_SECRET: secret }).sessionSecret).toBe(
      secret,
    );
    expect(() => readDashboardConfig({ SESSION_SECRET: 'short' })).toThrow(/SESSION_SECRET .*at least 32/);
  });

  it('names the variable that is wrong or missing', () => {
    expect(() => readDashboardConfig({ DASHBOARD_ADMIN_USER: 'admin' })).toThrow(
      /DASHBOARD_ADMIN_PASSWORD is required/,
    );
    expect(() => readDashboardConfig({ NOON_TIME_ZONE: 'Mars/Olympus' })).toThrow(/NOON_TIME_ZONE/);
    expect(() => readDashboardConfig({ NOON_DEADLINE: '25:00' })).toThrow(/NOON_DEADLINE/);
    expect(() => readDashboardConfig({ STUCK_BATCH_AFTER: 'soon' })).toThrow(/STUCK_BATCH_AFTER/);
    expect(() => readDashboardConfig({ METRICS_TOKEN: 'abc' })).toThrow(/METRICS_TOKEN/);
  });

  it('reads durations, sizes and the proxy setting', () => {
    const config = readDashboardConfig({
      STUCK_BATCH_AFTER: '3h',
      HEALTH_MIN_FREE_SCRATCH: '50GiB',
      TRUST_PROXY: '1',
      NOON_TIME_ZONE: 'Europe/Berlin',
      DASHBOARD_ADMIN_USER: 'root',
      DASHBOARD_ADMIN_PASSWORD: 'a-long-passphrase',
    });
    expect(config.health.stuckAfterMs).toBe(3 * 3_600_000);
    expect(config.health.minFreeScratchBytes).toBe(50 * 1024 ** 3);
    expect(config.health.noon.timeZone).toBe('Europe/Berlin');
    expect(config.trustProxy).toBe(1);
    expect(config.firstAdmin).toEqual({ username: 'root', password: 'a-long-passphrase' });
    expect(readDashboardConfig({ TRUST_PROXY: 'loopback, 10.0.0.0/8' }).trustProxy).toBe(
      'loopback, 10.0.0.0/8',
    );
  });
});
