import type { HostThroughput, NoonBacklog } from '@audio/db';

/**
 * - `done`: nothing due is left (everything complete, or failed as a whole);
 * - `on_track`: the projection is before the deadline;
 * - `at_risk`: the projection passes the deadline (a warning, before the deadline is missed);
 * - `unknown`: files are due but no live processing host has a measured rate (a warning too);
 * - `missed`: the deadline passed with files still due (the noon target reports it as a problem).
 */
export type NoonForecastState = 'done' | 'on_track' | 'at_risk' | 'unknown' | 'missed';

export interface HostRate {
  host: string;
  /** Measured over the window; null when the host recorded nothing it could be timed by. */
  measuredFilesPerSecond: number | null;
  /** What the forecast counts for it: measured, else the mean of the measured live hosts. */
  filesPerSecond: number | null;
  assumed: boolean;
}

export interface NoonForecast {
  state: NoonForecastState;
  deadlineAt: Date;
  /** When today's due files (and so their flagged items) are projected to be all processed. */
  projectedReadyAt: Date | null;
  /** Seconds from the projection to the deadline: negative when it passes the deadline. */
  marginSeconds: number | null;
  batchesRemaining: number;
  /** Files still to process: those of unpacked batches plus `filesEstimated`. */
  filesRemaining: number;
  /** Of those, estimated from the archive bytes of batches not unpacked yet. */
  filesEstimated: number;
  /** The live processing hosts' summed rate. */
  filesPerSecond: number | null;
  /** Live processing hosts (a heartbeat naming a transcribe queue), with the rate each counts for. */
  hosts: HostRate[];
  throughputWindowMs: number;
}

/** Used for archives not unpacked yet while no batch completed in the last 7 days. */
export const DEFAULT_BYTES_PER_FILE = 1024 ** 2;

/**
 * The projection: what is left of today's target divided by the rate of the hosts alive now. A live
 * host with no measurement (new, or idle for the whole window) counts for the mean of the measured
 * ones; a host without a heartbeat counts for nothing (its batches wait for a replay).
 */
export function forecastNoon(input: {
  backlog: NoonBacklog;
  throughput: HostThroughput[];
  liveHosts: string[];
  now: Date;
  throughputWindowMs: number;
}): NoonForecast {
  const { backlog, now } = input;
  const filesEstimated =
    backlog.bytesNotUnpacked > 0
      ? Math.ceil(backlog.bytesNotUnpacked / (backlog.bytesPerFile ?? DEFAULT_BYTES_PER_FILE))
      : 0;
  const filesRemaining = backlog.filesRemaining + filesEstimated;

  const measured = new Map(input.throughput.map((t) => [t.host, t.filesPerSecond]));
  const liveRates = input.liveHosts.flatMap((h) => {
    const rate = measured.get(h);
    return rate ? [rate] : [];
  });
  const mean = liveRates.length ? liveRates.reduce((a, b) => a + b, 0) / liveRates.length : null;
  const hosts: HostRate[] = [...new Set(input.liveHosts)].sort().map((host) => {
    const rate = measured.get(host) ?? null;
    return {
      host,
      measuredFilesPerSecond: rate,
      filesPerSecond: rate ?? mean,
      assumed: rate === null && mean !== null,
    };
  });
  const filesPerSecond = mean === null ? null : hosts.reduce((sum, h) => sum + (h.filesPerSecond ?? 0), 0);

  const nothingLeft = backlog.batches === 0;
  const projectedReadyAt = nothingLeft
    ? now
    : filesPerSecond === null
      ? null
      : new Date(now.getTime() + (filesRemaining / filesPerSecond) * 1000);
  const state: NoonForecastState = nothingLeft
    ? 'done'
    : now >= backlog.deadlineAt
      ? 'missed'
      : projectedReadyAt === null
        ? 'unknown'
        : projectedReadyAt > backlog.deadlineAt
          ? 'at_risk'
          : 'on_track';
  return {
    state,
    deadlineAt: backlog.deadlineAt,
    projectedReadyAt,
    marginSeconds:
      projectedReadyAt === null ? null : (backlog.deadlineAt.getTime() - projectedReadyAt.getTime()) / 1000,
    batchesRemaining: backlog.batches,
    filesRemaining,
    filesEstimated,
    filesPerSecond,
    hosts,
    throughputWindowMs: input.throughputWindowMs,
  };
}
