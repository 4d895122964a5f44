import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { configuredDatabaseUrl, postgresAnswers, startEmbeddedPostgres } from './postgres.js';
import { configuredRedisUrl, redisAnswers, startRedis } from './redis.js';
import { configuredS3, ensureBucket, s3Answers } from './s3.js';
import { startS3rver, S3RVER_CREDENTIALS } from './s3rver.js';
import type { StartedService } from './service.js';
import { isAlive } from './state.js';
import { findProgram } from './system-packages.js';
import { startSwift, SWIFT_CREDENTIALS } from './swift.js';

export type S3ServerKind = 'swift' | 's3rver';

export interface EnsureOptions {
  /** Which S3 server to start when none is configured; default: Swift where installed, else s3rver. */
  s3Server?: S3ServerKind;
  /** Where started servers keep their data; default: a private folder under the temp directory. */
  dataDir?: string;
  /**
   * Where a started S3 server keeps its objects across runs (never removed here). Without it, a started
   * S3 server's data lives and dies with `dataDir`.
   */
  s3DataDir?: string;
  log?: (line: string) => void;
  env?: NodeJS.ProcessEnv;
}

export interface ServiceReport {
  name: StartedService['name'];
  url: string;
  /** `configured`: the URL from the environment (or its default) answered; `started`: we started it. */
  origin: 'configured' | 'started';
  detail: string;
}

export interface Services {
  /** The variables an app needs to reach the services (REDIS_URL, DATABASE_URL, S3_*). */
  env: Record<string, string>;
  reports: ServiceReport[];
  started: StartedService[];
  /** Set when this call started the S3 server on kept data (`s3DataDir`): its objects outlive the run. */
  s3DataDir?: string;
  /** Stops what this call started; what was found running is left alone. */
  stop(): Promise<void>;
}

export function defaultDataDir(): string {
  const id = crypto.createHash('sha256').update(process.cwd()).digest('hex').slice(0, 8);
  return path.join(os.tmpdir(), `audio-pipeline-services-${process.pid}-${id}`);
}

/**
 * Uses the configured Redis, PostgreSQL and S3 when they answer, and starts a local one of each that
 * does not. The one mechanism behind the demo, `turbo dev`, the tests and `.ci/run`.
 */
export async function ensureServices(options: EnsureOptions = {}): Promise<Services> {
  const env = options.env ?? process.env;
  const log = options.log ?? ((line: string) => process.stderr.write(`[services] ${line}\n`));
  const dataDir = options.dataDir ?? defaultDataDir();
  const started: StartedService[] = [];
  const reports: ServiceReport[] = [];
  const out: Record<string, string> = {};
  let keptS3: string | undefined;

  const stop = async () => {
    for (const service of started.reverse()) await stopService(service);
    fs.rmSync(dataDir, { recursive: true, force: true });
  };

  try {
    const [redisUrl, databaseUrl] = [configuredRedisUrl(env), configuredDatabaseUrl(env)];
    const s3 = configuredS3(env);
    const [redisOk, postgresOk, s3Ok] = await Promise.all([
      redisAnswers(redisUrl),
      postgresAnswers(databaseUrl),
      s3 ? s3Answers(s3) : Promise.resolve(false),
    ]);

    if (redisOk) {
      reports.push({ name: 'redis', url: redisUrl, origin: 'configured', detail: 'answered PING' });
      out.REDIS_URL = redisUrl;
    } else {
      const service = await startRedis(dataDir, log);
      started.push(service);
      reports.push({ name: 'redis', url: service.url, origin: 'started', detail: service.detail });
      out.REDIS_URL = service.url;
    }

    if (postgresOk) {
      reports.push({ name: 'postgres', url: databaseUrl, origin: 'configured', detail: 'answered SELECT 1' });
      out.DATABASE_URL = databaseUrl;
    } else {
      const service = await startEmbeddedPostgres(dataDir, log);
      started.push(service);
      reports.push({ name: 'postgres', url: service.url, origin: 'started', detail: service.detail });
      out.DATABASE_URL = service.url;
    }

    const bucket = env.S3_BUCKET ?? 'audio-pipeline';
    if (s3 && s3Ok) {
      await ensureBucket(s3);
      reports.push({ name: 's3', url: s3.endpoint, origin: 'configured', detail: `bucket ${s3.bucket}` });
      Object.assign(out, {
        S3_ENDPOINT: s3.endpoint,
        S3_ACCESS_KEY: s3.accessKey,
        S3_SECRET_KEY: s3.secretKey,
        S3_BUCKET: s3.bucket,
      });
    } else {
      if (s3) log(`S3_ENDPOINT ${s3.endpoint} does not answer; starting a local S3 server instead`);
      const kind =
        options.s3Server ?? (env.LOCAL_SERVICES_S3 as S3ServerKind | undefined) ?? defaultS3Server();
      const keepData = options.s3DataDir !== undefined;
      const dir = options.s3DataDir ? path.join(options.s3DataDir, kind) : path.join(dataDir, kind);
      const service =
        kind === 'swift'
          ? await startSwift(dir, bucket, log, { keepData })
          : await startS3rver(dir, bucket, { keepData });
      if (keepData) keptS3 = options.s3DataDir;
      started.push(service);
      const credentials = kind === 'swift' ? SWIFT_CREDENTIALS : S3RVER_CREDENTIALS;
      reports.push({
        name: 's3',
        url: service.url,
        origin: 'started',
        detail: `${service.detail}, bucket ${bucket}`,
      });
      Object.assign(out, {
        S3_ENDPOINT: service.url,
        S3_ACCESS_KEY: credentials.accessKey,
        S3_SECRET_KEY: credentials.secretKey,
        S3_BUCKET: bucket,
      });
    }
  } catch (error) {
    await stop();
    throw error;
  }
  return { env: out, reports, started, ...(keptS3 ? { s3DataDir: keptS3 } : {}), stop };
}

function defaultS3Server(): S3ServerKind {
  return findProgram('swift-proxy-server') ? 'swift' : 's3rver';
}

export async function stopService(service: StartedService): Promise<void> {
  if (service.stop) {
    await service.stop().catch(() => undefined);
    return;
  }
  await killPids(service.pids);
}

/** SIGTERM, then SIGKILL whatever is still alive after a few seconds. */
export async function killPids(pids: number[], graceMs = 5000): Promise<void> {
  for (const pid of pids) if (isAlive(pid)) process.kill(pid, 'SIGTERM');
  const deadline = Date.now() + graceMs;
  while (pids.some(isAlive) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  for (const pid of pids) if (isAlive(pid)) process.kill(pid, 'SIGKILL');
}

export function describeServices(reports: ServiceReport[]): string {
  return reports
    .map(
      (r) =>
        `${r.name.padEnd(8)} ${r.origin === 'started' ? 'started ' : 'using   '} ${redact(r.url)}  (${r.detail})`,
    )
    .join('\n');
}

function redact(url: string): string {
  return url.replace(/(\/\/[^:/@]+:)[^@/]+@/, '$1***@');
}
