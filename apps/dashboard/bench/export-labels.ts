// `pnpm bench:export [--rows N] [--json]`: streams N labels (default 10^6) as CSV through the export's
// Postgres cursor into a sink that counts bytes, and reports the process's peak memory against a
// baseline of N/10 rows measured in the same run: bounded memory means a ratio near 1, not near 10.
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createDb } from '@audio/db';
import { createTestDatabase } from '@audio/db/testing';
import { labelExportChunks } from '../src/research/label-export-format.js';

const args = process.argv.slice(2);
const json = args.includes('--json');
const rowsArg = args.indexOf('--rows');
const rows = rowsArg >= 0 ? Number(args[rowsArg + 1]) : 1_000_000;
if (!Number.isInteger(rows) || rows < 10) throw new Error('--rows needs a whole number ≥ 10');

const database = await createTestDatabase(
  process.env.DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres',
);
const db = createDb({ databaseUrl: database.databaseUrl, poolSize: 2, connectionTimeoutMs: 60_000 });

async function seed(count: number): Promise<void> {
  const client = await db.connect();
  try {
    await client.query(`
      INSERT INTO batches (batch_id, archive_key, sha256, size_bytes, source, transferred_at)
      VALUES ('20250622-143052-b00000', 'archives/x.tar', repeat('a', 64), 1, 'bench', now()) ON CONFLICT DO NOTHING;
      INSERT INTO ra_users (username, password_hash) VALUES ('bench-reviewer', 'x') ON CONFLICT DO NOTHING;`);
    await client.query(
      `INSERT INTO audio_files (id, batch_id, original_filename, size_bytes, sha256)
       SELECT md5(n::text)::uuid, '20250622-143052-b00000', 'calls/' || n || '.mp3', 1000, repeat('a', 64)
       FROM generate_series(1, $1) n`,
      [count],
    );
    await client.query(
      `INSERT INTO transcripts (audio_file_id, text, language, segments, model)
       SELECT md5(n::text)::uuid, 'a transcript of call ' || n || ', with "quotes", commas and more words to make it a realistic length', 'en', '[]', 'fixture'
       FROM generate_series(1, $1) n`,
      [count],
    );
    await client.query(
      `INSERT INTO classifications (audio_file_id, policy_id, policy_version, flagged, score, model)
       SELECT md5(n::text)::uuid, 'vt', 'v1', n % 7 = 0, (n % 100) / 100.0, 'fixture' FROM generate_series(1, $1) n`,
      [count],
    );
    await client.query(
      `INSERT INTO ra_labels (audio_file_id, reviewer_id, answers, updated_at)
       SELECT md5(n::text)::uuid, (SELECT id FROM ra_users LIMIT 1), '{"violatesPolicy":"no"}', now()
       FROM generate_series(1, $1) n`,
      [count],
    );
    await client.query('ANALYZE');
  } finally {
    await client.end();
  }
}

/** Streams every label as CSV into a counting sink, sampling the peak RSS and heap. */
async function measure(): Promise<{
  rows: number;
  bytes: number;
  seconds: number;
  peakRssMiB: number;
  peakHeapMiB: number;
}> {
  global.gc?.();
  let peakRss = 0;
  let peakHeap = 0;
  const sample = () => {
    const m = process.memoryUsage();
    peakRss = Math.max(peakRss, m.rss);
    peakHeap = Math.max(peakHeap, m.heapUsed);
  };
  const timer = setInterval(sample, 50);
  let bytes = 0;
  let lines = 0;
  const started = performance.now();
  await pipeline(
    Readable.from(labelExportChunks(db, 'csv')),
    new Writable({
      write(chunk: Buffer, _encoding, done) {
        bytes += chunk.length;
        for (const byte of chunk) if (byte === 10) lines++;
        done();
      },
    }),
  );
  clearInterval(timer);
  sample();
  const MiB = 2 ** 20;
  return {
    rows: lines - 1,
    bytes,
    seconds: Math.round((performance.now() - started) / 100) / 10,
    peakRssMiB: Math.round(peakRss / MiB),
    peakHeapMiB: Math.round(peakHeap / MiB),
  };
}

try {
  const baselineRows = Math.floor(rows / 10);
  await seed(baselineRows);
  const baseline = await measure();
  await db.prisma.$executeRawUnsafe('TRUNCATE ra_labels, classifications, transcripts, audio_files CASCADE');
  await seed(rows);
  const full = await measure();
  const result = {
    rows: full.rows,
    baselineRows: baseline.rows,
    bytes: full.bytes,
    seconds: full.seconds,
    rowsPerSecond: Math.round(full.rows / full.seconds),
    peakRssMiB: full.peakRssMiB,
    baselinePeakRssMiB: baseline.peakRssMiB,
    peakHeapMiB: full.peakHeapMiB,
    baselinePeakHeapMiB: baseline.peakHeapMiB,
    /** Peak heap for 10× the rows, over the baseline's: about 1 when memory is bounded. */
    heapRatio: Math.round((100 * full.peakHeapMiB) / Math.max(1, baseline.peakHeapMiB)) / 100,
  };
  process.stdout.write(
    `exported ${result.rows} labels as CSV (${(result.bytes / 2 ** 20).toFixed(0)} MiB) in ${result.seconds} s ` +
      `(${result.rowsPerSecond} rows/s); peak heap ${result.peakHeapMiB} MiB vs ${result.baselinePeakHeapMiB} MiB for ` +
      `${result.baselineRows} rows (×${result.heapRatio}); peak RSS ${result.peakRssMiB} MiB vs ${result.baselinePeakRssMiB} MiB\n`,
  );
  if (json) process.stdout.write(`${JSON.stringify(result)}\n`);
} finally {
  await db.close();
  await database.drop();
}
