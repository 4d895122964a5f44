// `pnpm bench:storage [--json] [--size 1GiB] [--rounds 3]`: one file up and down through our code, rclone
// (Debian) and the AWS SDK (@aws-sdk/lib-storage up, a plain GetObject down), same server, same run.
// Each tool downloads what it uploaded, verifying it as it does by default (ours: sha256; rclone: MD5 of
// its own multipart uploads; the SDK: nothing). With --json the last line is one JSON object.
import crypto from 'node:crypto';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { parseArgs } from 'node:util';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { execa } from 'execa';
import { bytesFromEnv, runMain } from '@audio/config';
import { ensureServices, type Services } from '@audio/local-services';
import {
  ArchiveUploader,
  downloadVerified,
  createS3Client,
  ObjectStore,
  readStorageConfig,
  type StorageConfig,
} from '../src/index.js';

const MiB = 1024 * 1024;

interface Timing {
  upload: number[];
  download: number[];
}

const TOOLS = ['ours', 'rclone', 'sdk'] as const;
type Tool = (typeof TOOLS)[number];

runMain(async () => {
  const { values } = parseArgs({
    options: {
      json: { type: 'boolean', default: false },
      size: { type: 'string', default: '1GiB' },
      rounds: { type: 'string', default: '3' },
    },
  });
  const size = bytesFromEnv.parse(values.size);
  const rounds = Number(values.rounds);
  if (!Number.isInteger(rounds) || rounds < 1)
    throw new Error(`--rounds must be a whole number ≥ 1, got ${values.rounds}`);
  const log = (line: string) => process.stderr.write(`${line}\n`);

  let services: Services | undefined;
  if (!process.env.S3_ENDPOINT) {
    services = await ensureServices({ s3Server: 'swift', log });
    Object.assign(process.env, services.env);
  }
  const config = readStorageConfig();
  const store = ObjectStore.fromConfig(config);
  // The plain SDK baseline gets a client of its own (the store's is private).
  const client = createS3Client(config);
  const work = await fsp.mkdtemp(path.join(os.tmpdir(), 'storage-bench-'));
  const prefix = `bench/${crypto.randomBytes(4).toString('hex')}`;
  const timings: Record<Tool, Timing> = {
    ours: { upload: [], download: [] },
    rclone: { upload: [], download: [] },
    sdk: { upload: [], download: [] },
  };
  try {
    const source = path.join(work, 'source.bin');
    log(`writing ${(size / MiB).toFixed(0)} MiB of random data to ${source}`);
    const sourceSha = await writeRandomFile(source, size);
    const uploader = new ArchiveUploader(store, { stateDir: path.join(work, 'state') });

    // A fresh key per round and tool: rclone would skip a copy whose destination already matches.
    const keyOf = (tool: Tool, round: number) => `${prefix}/r${round}/${tool}.bin`;
    const run: Record<
      Tool,
      { up: (key: string) => Promise<void>; down: (key: string, dest: string) => Promise<void> }
    > = {
      ours: {
        up: async (key) => void (await uploader.upload(source, key)),
        down: async (key, dest) => void (await downloadVerified(store, key, dest)),
      },
      rclone: {
        up: (key) => rclone(config, ['copyto', source, `bench:${config.bucket}/${key}`]),
        down: (key, dest) => rclone(config, ['copyto', `bench:${config.bucket}/${key}`, dest]),
      },
      sdk: {
        up: async (key) =>
          void (await new Upload({
            client,
            params: { Bucket: config.bucket, Key: key, Body: fs.createReadStream(source) },
          }).done()),
        down: async (key, dest) => {
          const out = await client.send(new GetObjectCommand({ Bucket: config.bucket, Key: key }));
          await pipeline(out.Body as NodeJS.ReadableStream, fs.createWriteStream(dest));
        },
      },
    };

    for (let round = 1; round <= rounds; round += 1) {
      // Rotate the order so that no tool always runs first (cold) or last.
      const order = TOOLS.map((_, i) => TOOLS[(i + round - 1) % TOOLS.length]!);
      for (const tool of order) {
        const key = keyOf(tool, round);
        const dest = path.join(work, `${tool}.out`);
        const up = await timed(() => run[tool].up(key));
        const down = await timed(() => run[tool].down(key, dest));
        const downloadedSha = await sha256File(dest);
        if (downloadedSha !== sourceSha)
          throw new Error(`${tool}: downloaded sha256 ${downloadedSha} ≠ ${sourceSha}`);
        await fsp.rm(dest);
        await store.delete(key);
        timings[tool].upload.push(up);
        timings[tool].download.push(down);
        log(`round ${round} ${tool.padEnd(6)} up ${rate(size, up)} MiB/s  down ${rate(size, down)} MiB/s`);
      }
    }

    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
    const mibps = (seconds: number) => Number((size / MiB / seconds).toFixed(1));
    const results = Object.fromEntries(
      TOOLS.map((t) => [
        t,
        { uploadMiBps: mibps(median(timings[t].upload)), downloadMiBps: mibps(median(timings[t].download)) },
      ]),
    ) as Record<Tool, { uploadMiBps: number; downloadMiBps: number }>;
    const ratio = (a: number, b: number) => Number((a / b).toFixed(2));
    const summary = {
      sizeBytes: size,
      rounds,
      endpoint: config.endpoint ?? 'aws',
      server: services?.reports.find((r) => r.name === 's3')?.detail ?? 'configured S3_ENDPOINT',
      // Client and server share this machine: a busy one slows every tool, so compare ratios, not rates.
      cpus: os.cpus().length,
      loadAverage1m: Number(os.loadavg()[0]!.toFixed(2)),
      settings: {
        ours: {
          partSize: store.transfer.partSize,
          partConcurrency: store.transfer.partConcurrency,
          verify: 'sha256 (metadata)',
        },
        rclone: 'Debian rclone defaults (5 MiB chunks, 4 concurrent, MD5 metadata)',
        sdk: 'lib-storage Upload defaults (5 MiB parts, queue 4); GetObject piped to a file',
      },
      results,
      ratioUploadVsRclone: ratio(results.ours.uploadMiBps, results.rclone.uploadMiBps),
      ratioDownloadVsRclone: ratio(results.ours.downloadMiBps, results.rclone.downloadMiBps),
      ratioUploadVsLibStorage: ratio(results.ours.uploadMiBps, results.sdk.uploadMiBps),
      ratioDownloadVsSdk: ratio(results.ours.downloadMiBps, results.sdk.downloadMiBps),
    };
    const table = [
      `\n${(size / MiB).toFixed(0)} MiB, median of ${rounds} round(s), ${summary.server}, ` +
        `load ${summary.loadAverage1m} on ${summary.cpus} CPUs`,
      `tool     upload MiB/s  download MiB/s`,
      ...TOOLS.map(
        (t) =>
          `${t.padEnd(8)} ${String(results[t].uploadMiBps).padStart(12)}  ${String(results[t].downloadMiBps).padStart(14)}`,
      ),
      `ours vs rclone: upload ×${summary.ratioUploadVsRclone}, download ×${summary.ratioDownloadVsRclone}`,
      `ours vs SDK:    upload ×${summary.ratioUploadVsLibStorage}, download ×${summary.ratioDownloadVsSdk}`,
    ].join('\n');
    if (values.json) {
      log(table);
      process.stdout.write(`${JSON.stringify(summary)}\n`);
    } else {
      process.stdout.write(`${table}\n`);
    }
  } finally {
    const left: string[] = [];
    for await (const item of store.listAll(`${prefix}/`)) left.push(item.key);
    await store.deleteMany(left).catch(() => undefined);
    store.destroy();
    client.destroy();
    await fsp.rm(work, { recursive: true, force: true });
    await services?.stop();
  }
});

async function timed(fn: () => Promise<void>): Promise<number> {
  const start = performance.now();
  await fn();
  return (performance.now() - start) / 1000;
}

function rate(size: number, seconds: number): string {
  return (size / MiB / seconds).toFixed(1).padStart(7);
}

async function rclone(config: StorageConfig, args: string[]): Promise<void> {
  // Debian's rclone refuses to start while AWS_CA_BUNDLE is set ("unable to load custom CA bundle").
  const env: NodeJS.ProcessEnv = { ...process.env };
  delete env.AWS_CA_BUNDLE;
  Object.assign(env, {
    RCLONE_CONFIG: '/dev/null',
    RCLONE_CONFIG_BENCH_TYPE: 's3',
    RCLONE_CONFIG_BENCH_PROVIDER: 'Other',
    RCLONE_CONFIG_BENCH_ENDPOINT: config.endpoint ?? '',
    RCLONE_CONFIG_BENCH_REGION: config.region,
    RCLONE_CONFIG_BENCH_ACCESS_KEY_ID: config.accessKey,
    RCLONE_CONFIG_BENCH_SECRET_ACCESS_KEY: config.secretKey,
    RCLONE_CONFIG_BENCH_FORCE_PATH_STYLE: String(config.forcePathStyle),
  });
  await execa('rclone', ['-q', ...args], { env, extendEnv: false });
}

async function writeRandomFile(file: string, size: number): Promise<string> {
  const hash = crypto.createHash('sha256');
  const handle = await fsp.open(file, 'w');
  try {
    const block = 8 * MiB;
    for (let written = 0; written < size; written += block) {
      const chunk = crypto.randomBytes(Math.min(block, size - written));
      hash.update(chunk);
      await handle.write(chunk);
    }
  } finally {
    await handle.close();
  }
  return hash.digest('hex');
}

async function sha256File(file: string): Promise<string> {
  const hash = crypto.createHash('sha256');
  for await (const chunk of fs.createReadStream(file, { highWaterMark: 4 * MiB }))
    hash.update(chunk as Buffer);
  return hash.digest('hex');
}
