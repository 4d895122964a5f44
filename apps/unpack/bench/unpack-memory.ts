// `pnpm bench:unpack [--size 5GiB] [--baseline-size 64MiB] [--json]`: the peak RSS of the unpack app
// (its compiled entry, as a release runs it) while it unpacks one archive of `--size` from S3 into its
// scratch, beside the same app unpacking a small archive in the same run (the baseline). The goal is
// a peak under 256 MiB at 5 GiB, i.e. memory that does not grow with the archive. Archives are
// generated as a stream and uploaded as one; the convert queue is paused, so the peak is unpack's own.
// With --json the last line is one JSON object.
import { spawn, type ChildProcess } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Queue } from 'bullmq';
import { execa } from 'execa';
import { bytesFromEnv, runMain } from '@audio/config';
import { BatchRepository, createDb, type Db } from '@audio/db';
import { createTestDatabase, type TestDatabase } from '@audio/db/testing';
import { ensureServices } from '@audio/local-services';
import {
  convertQueueName,
  createRedisConnection,
  newBatchId,
  readRedisConfig,
  scanKeys,
  stageJob,
  UNPACK_QUEUE,
} from '@audio/queues';
import { archiveKey, ObjectStore, readStorageConfig } from '@audio/storage';
import { digestArchive, makeMp3Block, packArchive, planEntries, uploadArchive } from './bench-archive.js';

const MiB = 1024 * 1024;
const GOAL_MIB = 256;
const REPO = fileURLToPath(new URL('../../../', import.meta.url));
const APP_ENTRY = path.join(REPO, 'apps/unpack/dist/main.js');

interface UnpackRun {
  archiveBytes: number;
  files: number;
  /** RSS of the app once started, before it took the archive. */
  idleRssMiB: number;
  /** VmHWM: the kernel's record of the process's largest RSS, read when the batch was unpacked. */
  peakRssMiB: number;
  unpackSeconds: number;
  mibPerSecond: number;
}

runMain(async () => {
  const { values } = parseArgs({
    options: {
      json: { type: 'boolean', default: false },
      size: { type: 'string', default: '5GiB' },
      'baseline-size': { type: 'string', default: '64MiB' },
    },
  });
  const size = bytesFromEnv.parse(values.size);
  const baselineSize = bytesFromEnv.parse(values['baseline-size']);
  if (baselineSize >= size)
    throw new Error(`--baseline-size (${baselineSize}) must be below --size (${size})`);
  const log = (line: string) => process.stderr.write(`${line}\n`);

  // The release runs the compiled app: no TypeScript loader in the measured process.
  log('building the unpack app (turbo; cached when unchanged)');
  await execa('pnpm', ['turbo', 'run', 'build', '--filter=@audio/unpack', '--output-logs=errors-only'], {
    cwd: REPO,
    stdio: ['ignore', 'ignore', 'inherit'],
  });

  // The archive lands in scratch, and in the S3 server's data when that runs here too.
  const { bavail, bsize } = await fsp.statfs(os.tmpdir());
  if (bavail * bsize < 2 * size + 2 * 1024 * MiB)
    throw new Error(
      `${os.tmpdir()} has ${((bavail * bsize) / 1024 ** 3).toFixed(1)} GiB free; --size ${values.size} needs about twice that`,
    );

  const services = await ensureServices({ log });
  const work = await fsp.mkdtemp(path.join(os.tmpdir(), 'bench-unpack-'));
  const id = crypto.randomBytes(3).toString('hex');
  const prefix = `{bench-unpack-${id}}`;
  const hostId = `bench-unpack-${id}`;
  const store = ObjectStore.fromConfig(readStorageConfig({ ...process.env, ...services.env }));
  const redis = createRedisConnection(readRedisConfig({ ...process.env, ...services.env }), 'worker');
  const unpackQueue = new Queue(UNPACK_QUEUE, { connection: redis, prefix });
  // Paused, so that no conversion starts in the app while its peak is read.
  const convertQueue = new Queue(convertQueueName(hostId), { connection: redis, prefix });
  const keys: string[] = [];
  let database: TestDatabase | undefined;
  let db: Db | undefined;
  try {
    database = await createTestDatabase(services.env.DATABASE_URL);
    db = createDb({ databaseUrl: database.databaseUrl, poolSize: 2, connectionTimeoutMs: 10_000 });
    const batches = new BatchRepository(db);
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      ...services.env,
      DATABASE_URL: database.databaseUrl,
      QUEUE_PREFIX: prefix,
      HOST_ID: hostId,
      SCRATCH_ROOT: path.join(work, 'scratch'),
      SCRATCH_MIN_FREE: '0',
      LOG_LEVEL: 'warn',
    };
    await fsp.mkdir(env.SCRATCH_ROOT!, { recursive: true });
    await convertQueue.pause();
    const mp3Block = await makeMp3Block(env.FFMPEG_PATH);

    const unpackOnce = async (label: string, bytes: number): Promise<UnpackRun> => {
      const entries = planEntries(bytes, bytes); // seeded by the size: one size, one archive
      log(`${label}: hashing a generated archive of ${entries.length} MP3s, ${mib(bytes)} MiB`);
      const digest = await digestArchive(packArchive(entries, mp3Block));
      const batchId = newBatchId();
      const key = archiveKey(batchId);
      keys.push(key);
      log(`${label}: streaming it to ${key}`);
      await uploadArchive(store, key, packArchive(entries, mp3Block), digest, { 'batch-id': batchId });

      const app = startApp(env, path.join(work, `${label}.log`));
      try {
        await until(
          `the ${label} app's unpack worker`,
          app,
          async () => (await unpackQueue.getWorkersCount()) > 0,
        );
        const idle = readMemory(app.child.pid!);
        // What the transfer app's registrar does: the batch row, then the unpack job.
        const batch = await batches.create({
          batchId,
          archiveKey: key,
          sha256: digest.sha256,
          sizeBytes: digest.sizeBytes,
          source: 'bench:unpack',
          transferredAt: new Date(),
        });
        const job = stageJob(
          'unpack',
          {
            batchId,
            s3Key: key,
            transferredAt: batch.transferredAt.toISOString(),
            sha256: digest.sha256,
            sizeBytes: digest.sizeBytes,
            source: batch.source,
            run: 0,
          },
          { jobId: batchId },
        );
        log(`${label}: unpacking`);
        await unpackQueue.add(job.name, job.data, job.opts);
        const done = await until(`the ${label} batch to be unpacked`, app, async () => {
          const row = await batches.get(batchId);
          if (row?.status === 'failed') throw new Error(`${label}: ${row.errorCode}: ${row.errorMessage}`);
          return row?.status === 'unpacked' ? row : undefined;
        });
        const peak = readMemory(app.child.pid!);
        const seconds = (done.unpackedAt!.getTime() - done.unpackingAt!.getTime()) / 1000;
        if (done.fileCount !== entries.length)
          throw new Error(`${label}: ${done.fileCount} files unpacked of ${entries.length}`);
        const run: UnpackRun = {
          archiveBytes: digest.sizeBytes,
          files: entries.length,
          idleRssMiB: idle.rssMiB,
          peakRssMiB: peak.hwmMiB,
          unpackSeconds: round(seconds),
          mibPerSecond: round(digest.sizeBytes / MiB / seconds),
        };
        log(
          `${label}: ${run.files} files in ${run.unpackSeconds} s (${run.mibPerSecond} MiB/s), ` +
            `peak RSS ${run.peakRssMiB} MiB (idle ${run.idleRssMiB} MiB)`,
        );
        return run;
      } finally {
        await stopApp(app);
        await store.delete(key).catch(() => undefined);
        await fsp.rm(path.join(env.SCRATCH_ROOT!, batchId), { recursive: true, force: true });
      }
    };

    const started = Date.now();
    const baseline = await unpackOnce('baseline', baselineSize);
    const measured = await unpackOnce('measured', size);
    const summary = {
      sizeBytes: measured.archiveBytes,
      baselineSizeBytes: baseline.archiveBytes,
      measured,
      baseline,
      peakRssMiB: measured.peakRssMiB,
      goalPeakRssMiB: GOAL_MIB,
      withinGoal: measured.peakRssMiB < GOAL_MIB,
      // ≈ 1: memory does not grow with the archive.
      ratioPeakVsBaseline: round(measured.peakRssMiB / baseline.peakRssMiB),
      cpus: os.cpus().length,
      loadAverage1m: round(os.loadavg()[0]!),
      server: services.reports.find((r) => r.name === 's3')?.detail ?? 'configured S3_ENDPOINT',
      node: process.version,
      benchSeconds: round((Date.now() - started) / 1000),
    };
    const table = [
      `\nunpack app (${path.relative(REPO, APP_ENTRY)}, ${summary.node}), ${summary.server}, ` +
        `load ${summary.loadAverage1m} on ${summary.cpus} CPUs`,
      `archive        files   MiB   seconds  MiB/s  idle RSS MiB  peak RSS MiB`,
      ...(
        [
          ['baseline', baseline],
          ['measured', measured],
        ] as const
      ).map(
        ([name, r]) =>
          `${name.padEnd(12)} ${String(r.files).padStart(7)} ${String(mib(r.archiveBytes)).padStart(5)} ` +
          `${String(r.unpackSeconds).padStart(9)} ${String(r.mibPerSecond).padStart(6)} ` +
          `${String(r.idleRssMiB).padStart(13)} ${String(r.peakRssMiB).padStart(13)}`,
      ),
      `peak RSS ${summary.peakRssMiB} MiB (goal < ${GOAL_MIB} MiB: ${summary.withinGoal ? 'met' : 'MISSED'}), ` +
        `×${summary.ratioPeakVsBaseline} the ${mib(baseline.archiveBytes)} MiB baseline`,
    ].join('\n');
    if (values.json) {
      log(table);
      process.stdout.write(`${JSON.stringify(summary)}\n`);
    } else {
      process.stdout.write(`${table}\n`);
    }
  } finally {
    await Promise.all(keys.map((key) => store.delete(key).catch(() => undefined)));
    await unpackQueue.close();
    await convertQueue.close();
    await scanKeys(redis, `${prefix}:*`, async (found) => void (await redis.del(...found)));
    redis.disconnect();
    store.destroy();
    await db?.close();
    await database?.drop();
    await fsp.rm(work, { recursive: true, force: true });
    await services.stop();
  }
});

interface App {
  child: ChildProcess;
  exited: Promise<void>;
}

function startApp(env: NodeJS.ProcessEnv, logFile: string): App {
  const log = fs.openSync(logFile, 'a');
  try {
    const child = spawn(process.execPath, [APP_ENTRY], { env, stdio: ['ignore', log, log] });
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    return { child, exited };
  } finally {
    fs.closeSync(log); // the child holds its own copy
  }
}

/** SIGTERM (the app closes its workers and connections), then SIGKILL after a while. */
async function stopApp(app: App): Promise<void> {
  if (app.child.exitCode !== null || app.child.signalCode !== null) return;
  app.child.kill('SIGTERM');
  const killer = setTimeout(() => app.child.kill('SIGKILL'), 30_000);
  await app.exited;
  clearTimeout(killer);
}

/** Polls `check` until it returns a value; fails when the app exits. Its deadline only catches hangs. */
async function until<T>(what: string, app: App, check: () => Promise<T | undefined | false>): Promise<T> {
  const deadline = Date.now() + 3 * 3_600_000;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (app.child.exitCode !== null)
      throw new Error(`the unpack app exited (${app.child.exitCode}) while waiting for ${what}`);
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

function readMemory(pid: number): { rssMiB: number; hwmMiB: number } {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1]);
  return { rssMiB: round(kib('VmRSS') / 1024), hwmMiB: round(kib('VmHWM') / 1024) };
}

function mib(bytes: number): number {
  return Math.round(bytes / MiB);
}

function round(n: number): number {
  return Math.round(n * 100) / 100;
}
