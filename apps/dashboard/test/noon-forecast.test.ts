import { describe, expect, it } from '@jest/globals';
import type { HostThroughput, NoonBacklog } from '@audio/db';
import { DEFAULT_BYTES_PER_FILE, forecastNoon } from '../src/operations/noon-forecast.js';

const NOW = new Date('2025-07-01T09:00:00Z');
const DEADLINE = new Date('2025-07-01T12:00:00Z');
const HOUR = 3_600_000;

function backlog(fields: Partial<NoonBacklog> = {}): NoonBacklog {
  return {
    cutoffAt: new Date('2025-07-01T06:00:00Z'),
    deadlineAt: DEADLINE,
    batches: 2,
    filesRemaining: 0,
    batchesNotUnpacked: 0,
    bytesNotUnpacked: 0,
    bytesPerFile: null,
    ...fields,
  };
}

const rate = (host: string, filesPerSecond: number | null): HostThroughput => ({
  host,
  files: 100,
  timedFiles: 90,
  busySeconds: filesPerSecond ? 90 / filesPerSecond : 0,
  filesPerSecond,
});

const forecast = (b: NoonBacklog, throughput: HostThroughput[], liveHosts: string[], now = NOW) =>
  forecastNoon({ backlog: b, throughput, liveHosts, now, throughputWindowMs: HOUR });

describe('forecastNoon', () => {
  it('divides the files left by the live hosts’ summed rate', () => {
    // 3 600 files at 0.5 + 0.25 files/s → 4 800 s → 10:20.
    const f = forecast(backlog({ filesRemaining: 3600 }), [rate('a', 0.5), rate('b', 0.25)], ['a', 'b']);
    expect(f.state).toBe('on_track');
    expect(f.filesPerSecond).toBeCloseTo(0.75, 9);
    expect(f.projectedReadyAt).toEqual(new Date('2025-07-01T10:20:00Z'));
    expect(f.marginSeconds).toBe(6000);
  });

  it('warns before the deadline when the projection passes it', () => {
    // 14 400 files at 1 file/s: 4 h → 13:00, an hour late, while it is still 09:00.
    const f = forecast(backlog({ filesRemaining: 14_400 }), [rate('a', 1)], ['a']);
    expect(f).toMatchObject({ state: 'at_risk', marginSeconds: -3600 });
    expect(f.projectedReadyAt).toEqual(new Date('2025-07-01T13:00:00Z'));
  });

  it('leaves a dead host out, and counts a live unmeasured one at the mean of the measured', () => {
    const f = forecast(
      backlog({ filesRemaining: 3600 }),
      [rate('a', 1), rate('b', 0.5), rate('dead', 10)],
      ['a', 'b', 'new'],
    );
    expect(f.hosts).toEqual([
      { host: 'a', measuredFilesPerSecond: 1, filesPerSecond: 1, assumed: false },
      { host: 'b', measuredFilesPerSecond: 0.5, filesPerSecond: 0.5, assumed: false },
      { host: 'new', measuredFilesPerSecond: null, filesPerSecond: 0.75, assumed: true },
    ]);
    expect(f.filesPerSecond).toBeCloseTo(2.25, 9);
  });

  it('estimates the files of archives not unpacked yet from the recent bytes per file', () => {
    const known = forecast(
      backlog({ filesRemaining: 10, bytesNotUnpacked: 5_000_001, bytesPerFile: 1_000_000 }),
      [rate('a', 1)],
      ['a'],
    );
    expect(known).toMatchObject({ filesRemaining: 16, filesEstimated: 6 });
    const noHistory = forecast(
      backlog({ bytesNotUnpacked: 3 * DEFAULT_BYTES_PER_FILE }),
      [rate('a', 1)],
      ['a'],
    );
    expect(noHistory.filesEstimated).toBe(3);
  });

  it('is unknown with files due and no measured live host, done with nothing left, missed after the deadline', () => {
    expect(forecast(backlog({ filesRemaining: 5 }), [rate('dead', 1)], []).state).toBe('unknown');
    expect(forecast(backlog({ filesRemaining: 5 }), [], ['idle']).projectedReadyAt).toBeNull();
    const done = forecast(backlog({ batches: 0 }), [], []);
    expect(done).toMatchObject({ state: 'done', projectedReadyAt: NOW });
    const late = forecast(
      backlog({ filesRemaining: 5 }),
      [rate('a', 1)],
      ['a'],
      new Date('2025-07-01T12:05:00Z'),
    );
    expect(late.state).toBe('missed');
  });
});
