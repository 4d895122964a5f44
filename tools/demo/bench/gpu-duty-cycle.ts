// `pnpm bench:gpu [--files N] [--item-ms MS] [--json]`: the GPU app's duty cycle, the share of wall time
// the sidecar is busy while work is queued on the host, with the fixture backend told to take a fixed
// time per item (FIXTURE_SECONDS_PER_ITEM, simulated inference). The whole host runs in this process:
// unpack (download, extraction, ffmpeg conversion), the transcribe worker (batches to the sidecar,
// rows in Postgres, Opus to S3) and finalize; everything but inference must hide behind inference.
//
// The window is the time there is work for the sidecar: from its first request to its last reply (the
// last batch's rows and uploads come after it and are printed as the tail). Busy time is the inference
// the sidecar performed (items × the per-item time); the time Node saw a request unanswered is printed
// beside it (a little longer: a reply waits for Node's event loop). Baseline, in the same run: the same
// sidecar fed back to back by a loop that does nothing else, the most items/s inference allows.
// Goal: dutyCycle >= 0.97. With --json the last line is a JSON object.
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { Command } from 'commander';
import { QueueEvents } from 'bullmq';
import { execa } from 'execa';
import { createDb } from '@audio/db';
import { createTestDatabase } from '@audio/db/testing';
import { makeManyFileArchive } from '@audio/fixtures';
import { DEMO_POLICY_FILE, loadPolicy, readGpuConfig, SidecarProcess, startGpuApp } from '@audio/gpu';
import { ensureServices } from '@audio/local-services';
import { createLogger } from '@audio/logger';
import { createRedisConnection, readRedisConfig, transcribeQueueName } from '@audio/queues';
import { openTransferContext } from '@audio/transfer';
import { startUnpackApp } from '@audio/unpack';
import { removeQueueKeys } from '../src/demo-environment.js';

const GOAL = 0.97;
const program = new Command('bench:gpu')
  .option('--files <n>', 'files in the benchmark archive', '320')
  .option('--item-ms <ms>', 'simulated inference time per item', '100')
  .option('--json', 'print one JSON object as the last line')
  .parse();
const options = program.opts<{ files: string; itemMs: string; json?: boolean }>();
const FILES = Number(options.files);
const ITEM_SECONDS = Number(options.itemMs) / 1000;
const say = (line: string) => process.stderr.write(`${line}\n`);
const logger = createLogger({ name: 'bench', level: 'warn', pretty: false });

async function waitUntil(check: () => Promise<boolean> | boolean, what: string): Promise<void> {
  const deadline = Date.now() + 1_800_000; // catches hangs only
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** The sidecar alone, fed back to back with a request always queued: inference's own ceiling. */
async function sidecarAlone(env: NodeJS.ProcessEnv, work: string, batchSize: number, items: number) {
  const clips = await Promise.all(
    [0, 1, 2, 3].map(async (i) => {
      const file = path.join(work, `clip-${i}.opus`);
      await execa('ffmpeg', [
        ...['-v', 'error', '-y', '-f', 'lavfi', '-i', `sine=frequency=${300 + 50 * i}:duration=4`],
        ...['-c:a', 'libopus', '-b:a', '24k', '-metadata', `title=clip ${i}`, file],
      ]);
      return file;
    }),
  );
  const policy = await loadPolicy(DEMO_POLICY_FILE);
  const sidecar = SidecarProcess.fromEnv(env, { logger, maxInFlight: 2 });
  await sidecar.start();
  const batches = Math.ceil(items / batchSize);
  let next = 0;
  const started = performance.now();
  const busyAtStart = sidecar.busyMs;
  const lane = async () => {
    while (next < batches) {
      const b = next++;
      const batch = Array.from({ length: batchSize }, (_, i) => ({ key: `a${b}-${i}`, path: clips[i % 4]! }));
      await sidecar.process(batch, policy);
    }
  };
  await Promise.all([lane(), lane()]);
  const seconds = (performance.now() - started) / 1000;
  const observedBusy = (sidecar.busyMs - busyAtStart) / 1000;
  await sidecar.stop();
  const count = batches * batchSize;
  return { itemsPerSecond: count / seconds, dutyCycle: (count * ITEM_SECONDS) / seconds, observedBusy };
}

async function main(): Promise<void> {
  const services = await ensureServices({ log: say });
  const database = await createTestDatabase(services.env.DATABASE_URL);
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-gpu-'));
  const id = crypto.randomBytes(3).toString('hex');
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    ...services.env,
    DATABASE_URL: database.databaseUrl,
    QUEUE_PREFIX: `{bench-gpu-${id}}`,
    HOST_ID: `bench-gpu-${id}`,
    SCRATCH_ROOT: path.join(work, 'scratch'),
    SCRATCH_MIN_FREE: '0',
    SIDECAR_BACKEND: 'fixture',
    FIXTURE_SECONDS_PER_ITEM: String(ITEM_SECONDS),
    TRANSFER_STATE_DIR: path.join(work, 'state'),
    TRANSFER_TEMP_DIR: path.join(work, 'tmp'),
  };
  fs.mkdirSync(env.SCRATCH_ROOT!, { recursive: true });
  const gpuConfig = readGpuConfig(env);
  const db = createDb({ databaseUrl: database.databaseUrl, poolSize: 2, connectionTimeoutMs: 10_000 });
  const events = new QueueEvents(transcribeQueueName(env.HOST_ID!), {
    connection: createRedisConnection(readRedisConfig(env), 'worker'),
    prefix: env.QUEUE_PREFIX,
  });
  try {
    say(`making an archive of ${FILES} spoken MP3s`);
    const archive = path.join(work, 'bench.tar');
    await makeManyFileArchive(archive, FILES);

    say(`baseline: the sidecar alone, ${ITEM_SECONDS * 1000} ms per item, batches of ${gpuConfig.batchSize}`);
    const alone = await sidecarAlone(env, work, gpuConfig.batchSize, FILES);

    say(`the host: unpack + convert + transcribe (${gpuConfig.batchesAhead} batch(es) ahead) + finalize`);
    await events.waitUntilReady();
    const gpu = await startGpuApp({ env, logger });
    const unpack = await startUnpackApp({ env, logger });
    const transfer = await openTransferContext({ env, logger });
    let firstBusy: { at: number; busyMs: number } | undefined;
    let lastIdle = { at: 0, busyMs: 0 };
    gpu.sidecar.on('busy', () => (firstBusy ??= { at: performance.now(), busyMs: gpu.sidecar.busyMs }));
    gpu.sidecar.on('idle', () => (lastIdle = { at: performance.now(), busyMs: gpu.sidecar.busyMs }));
    let completed = 0;
    let lastCompletedAt = 0;
    events.on('completed', () => {
      completed++;
      lastCompletedAt = performance.now();
    });
    const ingestedAt = performance.now();
    const { batchId } = await transfer.ingester.ingest(archive, { source: 'bench-gpu' });
    await waitUntil(async () => {
      const batch = await db.prisma.batch.findUnique({ where: { batchId } });
      return batch?.status === 'complete' || batch?.status === 'failed';
    }, 'the batch');
    await waitUntil(() => completed >= FILES, 'every transcribe job to be reported complete');
    const succeeded = await db.prisma.audioFile.count({ where: { batchId, s3OpusPath: { not: null } } });
    await unpack.close();
    await gpu.close();
    await transfer.close();
    if (succeeded !== FILES) throw new Error(`${succeeded} of ${FILES} files went through`);

    const windowSeconds = (lastIdle.at - firstBusy!.at) / 1000;
    const inferenceSeconds = FILES * ITEM_SECONDS;
    const observedBusySeconds = (lastIdle.busyMs - firstBusy!.busyMs) / 1000;
    const dutyCycle = inferenceSeconds / windowSeconds;
    // Throughput of the host: from the first request to the last file done (row and upload included).
    const filesPerSecond = FILES / ((lastCompletedAt - firstBusy!.at) / 1000);
    const result = {
      dutyCycle: round(dutyCycle, 4),
      goal: GOAL,
      meetsGoal: dutyCycle >= GOAL,
      files: FILES,
      itemMs: ITEM_SECONDS * 1000,
      batchSize: gpuConfig.batchSize,
      batchesAhead: gpuConfig.batchesAhead,
      windowSeconds: round(windowSeconds, 2),
      inferenceSeconds: round(inferenceSeconds, 2),
      requestsOutstandingSeconds: round(observedBusySeconds, 2),
      filesPerSecond: round(filesPerSecond, 2),
      sidecarAloneItemsPerSecond: round(alone.itemsPerSecond, 2),
      sidecarAloneDutyCycle: round(alone.dutyCycle, 4),
      ratioVsSidecarAlone: round(filesPerSecond / alone.itemsPerSecond, 4),
      fillSeconds: round((firstBusy!.at - ingestedAt) / 1000, 2),
      tailSeconds: round((lastCompletedAt - lastIdle.at) / 1000, 2),
      cores: os.availableParallelism(),
    };
    console.log(`files                      ${FILES}, ${result.itemMs} ms simulated inference per item`);
    console.log(
      `duty cycle                 ${(100 * dutyCycle).toFixed(1)} % of ${result.windowSeconds} s ` +
        `(goal ≥ ${100 * GOAL} %: ${result.meetsGoal ? 'met' : 'NOT met'})`,
    );
    console.log(
      `  requests outstanding     ${result.requestsOutstandingSeconds} s of the window, as Node saw them`,
    );
    console.log(`host throughput            ${result.filesPerSecond} files/s`);
    console.log(
      `sidecar alone              ${result.sidecarAloneItemsPerSecond} items/s ` +
        `(busy ${(100 * alone.dutyCycle).toFixed(1)} %)`,
    );
    console.log(`  ratio host / alone       ${result.ratioVsSidecarAlone}`);
    console.log(
      `before the first request   ${result.fillSeconds} s (download, extraction, first conversions)`,
    );
    console.log(`after the last reply       ${result.tailSeconds} s (the last batch's rows and uploads)`);
    if (options.json) console.log(JSON.stringify(result));
  } finally {
    await events.close();
    await db.close();
    await database.drop();
    // The run's queues on a Redis the machine keeps (the benchmark's own Redis goes with services.stop).
    await removeQueueKeys(env);
    await services.stop();
    fs.rmSync(work, { recursive: true, force: true });
  }
}

function round(n: number, digits: number): number {
  return Math.round(n * 10 ** digits) / 10 ** digits;
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(`bench:gpu failed: ${error instanceof Error ? error.stack : String(error)}\n`);
    process.exit(1);
  },
);
