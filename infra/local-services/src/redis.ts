import fs from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { Redis } from 'ioredis';
import { freePort, waitForPort, STARTUP_DEADLINE_MS } from './ports.js';
import { requireProgram } from './system-packages.js';
import type { StartedService } from './service.js';

/** The URL the app would use: REDIS_URL, else REDIS_HOST/REDIS_PORT/REDIS_PASSWORD, else the default. */
export function configuredRedisUrl(env: NodeJS.ProcessEnv): string {
  if (env.REDIS_URL) return env.REDIS_URL;
  if (env.REDIS_HOST) {
    const auth = env.REDIS_PASSWORD ? `:${encodeURIComponent(env.REDIS_PASSWORD)}@` : '';
    return `redis://${auth}${env.REDIS_HOST}:${env.REDIS_PORT ?? '6379'}`;
  }
  return 'redis://127.0.0.1:6379';
}

export async function redisAnswers(url: string): Promise<boolean> {
  const client = new Redis(url, {
    lazyConnect: true,
    connectTimeout: 1000,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    enableOfflineQueue: false,
  });
  client.on('error', () => undefined);
  try {
    await client.connect();
    return (await client.ping()) === 'PONG';
  } catch {
    return false;
  } finally {
    client.disconnect();
  }
}

/**
 * The pid a daemonized redis-server wrote. Redis 7.0 listens before it writes its pidfile, so the file
 * can be missing or empty just after the port answers (a `Number('')` of 0 would later signal our own
 * process group).
 */
async function readPidFile(pidFile: string, timeoutMs: number): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const text = fs.existsSync(pidFile) ? fs.readFileSync(pidFile, 'utf8').trim() : '';
    if (/^[1-9]\d*$/.test(text)) return Number(text);
    if (Date.now() > deadline)
      throw new Error(`redis-server wrote no pid to ${pidFile} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** A private redis-server on a free loopback port: no persistence, noeviction as BullMQ requires. */
export async function startRedis(dataDir: string, log: (line: string) => void): Promise<StartedService> {
  const binary = await requireProgram('redis-server', log);
  const port = await freePort();
  const dir = path.join(dataDir, 'redis');
  fs.mkdirSync(dir, { recursive: true });
  const pidFile = path.join(dir, 'redis.pid');
  await execa(binary, [
    '--port',
    String(port),
    '--bind',
    '127.0.0.1',
    '--daemonize',
    'yes',
    '--pidfile',
    pidFile,
    '--dir',
    dir,
    '--save',
    '',
    '--appendonly',
    'no',
    '--maxmemory-policy',
    'noeviction',
    '--logfile',
    path.join(dir, 'redis.log'),
  ]);
  await waitForPort(port, STARTUP_DEADLINE_MS);
  const pid = await readPidFile(pidFile, STARTUP_DEADLINE_MS);
  return { name: 'redis', url: `redis://127.0.0.1:${port}`, pids: [pid], detail: `redis-server pid ${pid}` };
}
