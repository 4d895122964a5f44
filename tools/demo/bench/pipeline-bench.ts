// `pnpm bench:pipeline [--files N] [--json]`: end-to-end files/s with the fixture backend beside raw
// BullMQ no-op throughput on the same Redis, and unpack speed beside `tar -x` + `xargs -P$(nproc) ffmpeg`
// on the same archive. Ratios against baselines measured in the same run; no timing assertions anywhere.
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Command } from 'commander';
import { FlowProducer, Queue, Worker, type FlowJob } from 'bullmq';
import { execa } from 'execa';
import { createDb } from '@audio/db';
import { createTestDatabase } from '@audio/db/testing';
import { makeManyFileArchive, SAMPLE_SENTENCES } from '@audio/fixtures';
import { ensureServices } from '@audio/local-services';
import { createLogger } from '@audio/logger';
import { convertQueueName, createRedisConnection, readRedisConfig } from '@audio/queues';
import { openTransferContext } from '@audio/transfer';
import { startGpuApp } from '@audio/gpu';
import { startUnpackApp } from '@audio/unpack';
import { removeQueueKeys } from '../src/demo-environment.js';

const program = new Command('bench:pipeline')
  .option('--files <n>', 'files in the benchmark archive', '300')
  .option('--json', 'print one JSON object as the last line')
  .parse();
const options = program.opts<{ files: string; json?: boolean }>();
const FILES = Number(options.files);
const say = (line: string) => process.stderr.write(`${line}\n`);
const logger = createLogger({ name: 'bench', level: 'warn', pretty: false });

async function timed<T>(fn: () => Promise<T>): Promise<{ seconds: number; value: T }> {
  const start = process.hrtime.bigint();
  const value = await fn();
  return { seconds: Number(process.hrtime.bigint() - start) / 1e9, value };
}

async function waitUntil(check: () => Promise<boolean>, what: string, timeoutMs = 1_800_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** The pipeline's flow shape (finalize ← N × (transcribe ← convert)) with no-op processors. */
async function rawBullmqFlow(env: NodeJS.ProcessEnv, files: number, concurrency: number): Promise<number> {
  const config = readRedisConfig(env);
  const prefix = `{bench-raw-${crypto.randomBytes(3).toString('hex')}}`;
  const connection = createRedisConnection(config, 'worker');
  let finished!: () => void;
  const done = new Promise<void>((resolve) => (finished = resolve));
  const workers = [
    new Worker('finalize', async () => finished(), { connection, prefix }),
    new Worker('transcribe', async () => ({ ok: true }), { connection, prefix, concurrency }),
    new Worker('convert', async () => ({ ok: true }), { connection, prefix, concurrency }),
  ];
  const flow: FlowJob = {
    name: 'finalize',
    queueName: 'finalize',
    children: Array.from({ length: files }, (_, i) => ({
      name: 'transcribe',
      queueName: 'transcribe',
      data: { i },
      opts: { ignoreDependencyOnFailure: true },
      children: [
        { name: 'convert', queueName: 'convert', data: { i }, opts: { ignoreDependencyOnFailure: true } },
      ],
    })),
  };
  const producer = new FlowProducer({ connection, prefix });
  const { seconds } = await timed(async () => {
    await producer.add(flow);
    await done;
  });
  await producer.close();
  await Promise.all(workers.map((w) => w.close()));
  for (const name of ['finalize', 'transcribe', 'convert']) {
    const queue = new Queue(name, { connection, prefix });
    await queue.obliterate({ force: true });
    await queue.close();
  }
  connection.disconnect();
  return files / seconds;
}

/** `tar -x` then `xargs -P$(nproc) ffmpeg` with the same ffmpeg arguments as the unpack app. */
async function rawTools(archive: string, work: string): Promise<number> {
  const dir = fs.mkdtempSync(path.join(work, 'raw-'));
  const script = `tar -xf "$1" -C "$2" && find "$2" -name '*.mp3' -print0 | xargs -0 -P"$(nproc)" -I{} ffmpeg -nostdin -hide_banner -loglevel error -y -i {} -map 0:a:0 -map_metadata 0 -c:a libopus -b:a 32k -vbr on -application voip -f opus {}.opus`;
  const { seconds } = await timed(() => execa('bash', ['-c', script, 'raw', archive, dir]));
  const converted = fs
    .readdirSync(dir, { recursive: true })
    .filter((f) => String(f).endsWith('.opus')).length;
  if (converted !== FILES) throw new Error(`raw tools converted ${converted} of ${FILES} files`);
  fs.rmSync(dir, { recursive: true, force: true });
  return seconds;
}

async function main(): Promise<void> {
  const services = await ensureServices({ log: say });
  const database = await createTestDatabase(services.env.DATABASE_URL);
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-pipeline-'));
  const id = crypto.randomBytes(3).toString('hex');
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    ...services.env,
    DATABASE_URL: database.databaseUrl,
    QUEUE_PREFIX: `{bench-${id}}`,
    HOST_ID: `bench-${id}`,
    SCRATCH_ROOT: path.join(work, 'scratch'),
    SCRATCH_MIN_FREE: '0',
    SIDECAR_BACKEND: process.env.SIDECAR_BACKEND ?? 'fixture',
    TRANSFER_STATE_DIR: path.join(work, 'state'),
    TRANSFER_TEMP_DIR: path.join(work, 'tmp'),
  };
  fs.mkdirSync(env.SCRATCH_ROOT!, { recursive: true });
  const db = createDb({ databaseUrl: database.databaseUrl, poolSize: 4, connectionTimeoutMs: 10_000 });
  try {
    say(`making two archives of ${FILES} spoken MP3s`);
    const archive = path.join(work, 'bench.tar');
    await makeManyFileArchive(archive, FILES);
    // The end-to-end run's own archive: the same one again would be recognised by its sha256 as a repeat
    // of the first batch, and the end-to-end figure would time nothing.
    const e2eArchive = path.join(work, 'bench-e2e.tar');
    await makeManyFileArchive(e2eArchive, FILES, [...SAMPLE_SENTENCES].reverse());
    const concurrency = Number(env.TRANSCRIBE_BATCH_SIZE ?? 16);

    say('baseline: raw BullMQ flow of the same shape with no-op processors');
    const rawJobsPerSecond = await rawBullmqFlow(env, FILES, concurrency);

    say('baseline: tar -x + xargs -P$(nproc) ffmpeg');
    const rawToolsSeconds = await rawTools(archive, work);

    const transfer = await openTransferContext({ env, logger });
    const redis = createRedisConnection(readRedisConfig(env), 'worker');
    const convertQueue = new Queue(convertQueueName(env.HOST_ID!), {
      connection: redis,
      prefix: env.QUEUE_PREFIX,
    });

    // Unpack alone: from the archive in S3 to every file converted (the GPU app is not running).
    say('our unpack: S3 stream → safe extraction → ffmpeg through the convert queue');
    const unpackOnly = await startUnpackApp({ env, logger });
    const { batchId: unpackBatch } = await transfer.ingester.ingest(archive, { source: 'bench' });
    const unpackStart = process.hrtime.bigint();
    await waitUntil(async () => (await convertQueue.getCompletedCount()) >= FILES, 'conversions');
    const unpackSeconds = Number(process.hrtime.bigint() - unpackStart) / 1e9;
    await unpackOnly.close();

    // The GPU side alone on that batch, its Opus files ready: sidecar → Postgres + S3 → finalize.
    say('our gpu app alone: sidecar (fixture) → Postgres + S3 → finalize, Opus files ready');
    const gpuOnly = await startGpuApp({ env, logger });
    const gpuStage = await timed(() =>
      waitUntil(
        async () =>
          (await db.prisma.batch.findUnique({ where: { batchId: unpackBatch } }))?.status === 'complete',
        'the first batch',
      ),
    );
    await gpuOnly.close();

    // End to end, a second batch of as many files: ingest → unpack → convert → sidecar → DB + S3 → finalize.
    say('end to end with the fixture backend');
    // Another host id: the first batch's transcribe jobs stay in the first host's queue.
    const e2eEnv = { ...env, HOST_ID: `bench-e2e-${id}` };
    const gpu = await startGpuApp({ env: e2eEnv, logger });
    const unpack = await startUnpackApp({ env: e2eEnv, logger });
    const e2e = await timed(async () => {
      const { batchId, duplicateOf } = await transfer.ingester.ingest(e2eArchive, { source: 'bench-e2e' });
      if (duplicateOf) throw new Error(`${e2eArchive} was taken as a repeat of batch ${duplicateOf}`);
      await waitUntil(async () => {
        const batch = await db.prisma.batch.findUnique({ where: { batchId } });
        return batch?.status === 'complete' || batch?.status === 'failed';
      }, 'the end-to-end batch');
      return batchId;
    });
    const succeeded = await db.prisma.audioFile.count({ where: { batchId: e2e.value } });
    await unpack.close();
    await gpu.close();
    await convertQueue.close();
    redis.disconnect();
    await transfer.close();

    const result = {
      files: FILES,
      cores: os.availableParallelism(),
      filesPerSecond: round(succeeded / e2e.seconds),
      endToEndSeconds: round(e2e.seconds),
      rawBullmqFlowJobsPerSecond: round(rawJobsPerSecond),
      ratioPipelineVsRawBullmq: round(succeeded / e2e.seconds / rawJobsPerSecond),
      gpuStageFilesPerSecond: round(FILES / gpuStage.seconds),
      unpackSeconds: round(unpackSeconds),
      rawToolsSeconds: round(rawToolsSeconds),
      ratioUnpackVsRawTools: round(rawToolsSeconds / unpackSeconds),
      goals: { filesPerSecond: 300, ratioUnpackVsRawTools: 0.95 },
    };
    console.log(`files                       ${FILES} (${result.cores} cores)`);
    console.log(
      `end to end                  ${result.filesPerSecond} files/s (${result.endToEndSeconds} s; goal ≥ 300)`,
    );
    console.log(
      `raw BullMQ, same flow shape ${result.rawBullmqFlowJobsPerSecond} files/s (no-op processors)`,
    );
    console.log(`  ratio                     ${result.ratioPipelineVsRawBullmq}×`);
    console.log(`gpu app alone (opus ready)  ${result.gpuStageFilesPerSecond} files/s`);
    console.log(`unpack (S3 → opus)          ${result.unpackSeconds} s`);
    console.log(`tar -x + xargs ffmpeg       ${result.rawToolsSeconds} s`);
    console.log(`  ratio (raw / ours)        ${result.ratioUnpackVsRawTools}× (goal ≥ 0.95)`);
    if (options.json) console.log(JSON.stringify(result));
  } finally {
    await db.close();
    await database.drop();
    // The run's queues on a Redis the machine keeps (the benchmark's own Redis goes with services.stop).
    await removeQueueKeys(env);
    await services.stop();
    fs.rmSync(work, { recursive: true, force: true });
  }
}

function round(n: number): number {
  return Math.round(n * 100) / 100;
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(`bench:pipeline failed: ${error instanceof Error ? error.stack : String(error)}\n`);
    process.exit(1);
  },
);
