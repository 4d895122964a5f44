import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { findProgram } from '@audio/local-services';
import { openFreshDb, type FreshDb } from './support/fresh-db.js';
import { seedMonitoringData } from './support/monitoring-seed.js';
import { runWithoutPsql, runWithPsql, type Sections } from './support/run-monitoring-sql.js';

// Same seeded day and numbers as monitoring-queries.test.ts, through infra/monitoring.sql.
const VARS = { now: '2025-06-23T10:30:00Z', tz: 'Europe/Berlin', hours: '3', days: '2' };

const EXPECTED: Sections = {
  'batches by status': ['transferred|1', 'unpacking|2', 'unpacked|1', 'complete|4', 'failed|1'],
  'stuck batches (not complete after stuck_after)': [
    '20250610-000000-aaaaa8|unpacking|gpu-b|archives/20250610-000000-aaaaa8.tar|2025-06-10 00:00:00+00|1161000',
    '20250623-030000-aaaaa4|unpacked|gpu-b|archives/20250623-030000-aaaaa4.tar|2025-06-23 03:00:00+00|27000',
    '20250623-050000-aaaaa5|unpacking|gpu-a|archives/20250623-050000-aaaaa5.tar|2025-06-23 05:00:00+00|19800',
  ],
  'failures by reason (since)': [
    'convert|decode_error|3|2|2025-06-23 09:00:00+00',
    'unpack|corrupt_archive|1|1|2025-06-23 07:30:00+00',
    'transcribe|sidecar_timeout|1|1|2025-06-23 10:00:00+00',
  ],
  'files per hour (UTC)': [
    '2025-06-23 08:00:00+00|2',
    '2025-06-23 09:00:00+00|3',
    '2025-06-23 10:00:00+00|2',
  ],
  'files per host (since)': ['gpu-b|5|2', 'gpu-a|4|2'],
  'noon target: batches transferred before cutoff complete by deadline (tz), flagged items waiting': [
    '2025-06-23|Europe/Berlin|2025-06-23 04:00:00+00|2025-06-23 10:00:00+00|t|5|3|{20250623-020000-aaaaa3,20250623-030000-aaaaa4}|f|3',
  ],
  'flagged items waiting for review': ['3|1|1'],
  'audio files without an opus key (older than opus_grace)': ['2|2025-06-21 13:00:00+00'],
  'classification rate by label (since)': [
    'cope-hate|1|9|4|5|0.4444444444444444',
    'cope-violence|2|2|1|1|0.5',
  ],
  'reviews per reviewer per day (tz, last days)': [
    '2025-06-22|bob|1',
    '2025-06-23|alice|3',
    '2025-06-23|bob|1',
  ],
};

describe('infra/monitoring.sql on seeded data', () => {
  let fresh: FreshDb;
  let sections: Sections;

  beforeAll(async () => {
    fresh = await openFreshDb(1);
    await seedMonitoringData(fresh.db);
    sections = await runWithoutPsql(fresh.databaseUrl, VARS);
  });
  afterAll(() => fresh?.close());

  it('gives the numbers the typed queries give', () => {
    for (const [title, rows] of Object.entries(EXPECTED))
      expect([title, sections[title]]).toEqual([title, rows]);
    const [latency] = sections['transfer -> complete latency, seconds (batches completed since)']!;
    const [batches, p50, p90, p99, max] = latency!.split('|').map(Number);
    expect([batches, p50, max]).toEqual([3, 28_800, 29_700]);
    expect(p90).toBeCloseTo(29_520, 6);
    expect(p99).toBeCloseTo(29_682, 6);
    expect(sections['oldest unreviewed flagged item']![0]).toMatch(
      /\|20250621-120000-aaaaa9\|b9a\.mp3\|2025-06-21 13:00:00\+00\|163800$/,
    );
  });

  const psql = findProgram('psql');
  (psql ? it : it.skip)(
    'runs under psql with the same output (skipped where psql is not installed)',
    async () => {
      expect(await runWithPsql(psql!, fresh.databaseUrl, VARS)).toEqual(sections);
    },
  );
});
