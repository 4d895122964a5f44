import { describe, expect, it } from '@jest/globals';
import { ConfigError } from '@audio/config';
import { batchIdForSourceFile, nameWithBatchId, readTransferConfig, StabilityTracker } from '../src/index.js';

describe('readTransferConfig', () => {
  const sftpEnv = {
    SFTP_HOST: 'ingest.example.org',
    SFTP_USER: 'transfer',
    SFTP_KEY_FILE: '/etc/audio/key',
    SFTP_REMOTE_DIR: '/srv/outgoing/',
  };

  it('configures no source by default and SFTP once SFTP_HOST is set, with defaults', () => {
    const none = readTransferConfig({});
    expect(none.sftp).toBeUndefined();
    expect(none.inbox).toBeUndefined();
    expect(readTransferConfig(sftpEnv).sftp).toEqual({
      host: 'ingest.example.org',
      port: 22,
      user: 'transfer',
      keyFile: '/etc/audio/key',
      remoteDir: '/srv/outgoing',
      pattern: '*.tar',
      doneDir: '/srv/outgoing/done',
      pollIntervalMs: 60_000,
      minAgeMs: 120_000,
      connectTimeoutMs: 20_000,
    });
  });

  it('names the missing or malformed variable', () => {
    expect(() => readTransferConfig({ ...sftpEnv, SFTP_USER: '' })).toThrow(ConfigError);
    expect(() => readTransferConfig({ ...sftpEnv, SFTP_USER: '' })).toThrow(
      'SFTP_USER is required when SFTP_HOST is set',
    );
    expect(() => readTransferConfig({ ...sftpEnv, SFTP_HOST_FINGERPRINT: 'md5:aa' })).toThrow(
      'SFTP_HOST_FINGERPRINT is invalid',
    );
    expect(() => readTransferConfig({ INBOX_DIR: 'relative/inbox' })).toThrow('INBOX_DIR is invalid');
    expect(() => readTransferConfig({ UPLOAD_API_TOKEN: 'short' })).toThrow('UPLOAD_API_TOKEN is invalid');
    expect(() => readTransferConfig({ UPLOAD_API_RATE_LIMIT: 'lots' })).toThrow(
      'UPLOAD_API_RATE_LIMIT is invalid',
    );
    expect(() => readTransferConfig({ UPLOAD_API_RATE_WINDOW: '10ms' })).toThrow(
      'UPLOAD_API_RATE_WINDOW is invalid',
    );
  });

  it('limits each upload API client to 120 requests a minute unless told otherwise; 0 turns it off', () => {
    expect(readTransferConfig({}).uploadApi.rateLimit).toEqual({ points: 120, windowSeconds: 60 });
    expect(
      readTransferConfig({ UPLOAD_API_RATE_LIMIT: '0', UPLOAD_API_RATE_WINDOW: '10s' }).uploadApi.rateLimit,
    ).toEqual({ points: 0, windowSeconds: 10 });
  });
});

describe('batchIdForSourceFile', () => {
  const file = {
    url: 'sftp://u@h:22/srv/a.tar',
    size: 1000,
    mtimeMs: Date.UTC(2025, 5, 22, 14, 30, 52, 250),
  };

  it('derives the same id from the same file version, with the mtime as its time part', () => {
    const id = batchIdForSourceFile(file);
    expect(id).toMatch(/^20250622-143052-[0-9a-f]{6}$/);
    expect(batchIdForSourceFile({ ...file })).toBe(id);
    expect(batchIdForSourceFile({ ...file, size: 1001 })).not.toBe(id);
    expect(batchIdForSourceFile({ ...file, url: 'sftp://u@h:22/srv/b.tar' })).not.toBe(id);
  });
});

describe('StabilityTracker', () => {
  it('two-looks: unchanged across two listings and old enough', () => {
    let now = 100_000;
    const tracker = new StabilityTracker(30_000, 'two-looks', () => now);
    const old = { name: 'a.tar', size: 10, mtimeMs: 0 };
    const young = { name: 'b.tar', size: 10, mtimeMs: 90_000 };
    expect(tracker.update([old, young])).toEqual(new Set());
    now += 1000;
    expect(tracker.update([old, { ...young, size: 20 }])).toEqual(new Set(['a.tar']));
  });

  it('age-or-unchanged: an old mtime suffices; a young one after minAge without change', () => {
    let now = 100_000;
    const tracker = new StabilityTracker(30_000, 'age-or-unchanged', () => now);
    const future = { name: 'clock-ahead.tar', size: 10, mtimeMs: 500_000 };
    expect(tracker.update([{ name: 'old.tar', size: 1, mtimeMs: 0 }, future])).toEqual(new Set(['old.tar']));
    now += 30_000;
    expect(tracker.update([future])).toEqual(new Set(['clock-ahead.tar']));
  });

  it('names a done file after its batch id when the plain name is taken', () => {
    expect(nameWithBatchId('calls.tar', '20250622-143052-a1b2c3')).toBe('calls.20250622-143052-a1b2c3.tar');
    expect(nameWithBatchId('calls', '20250622-143052-a1b2c3')).toBe('calls.20250622-143052-a1b2c3');
  });
});
