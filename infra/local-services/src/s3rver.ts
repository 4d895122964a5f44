import { spawn } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { freePort, waitForPort, STARTUP_DEADLINE_MS } from './ports.js';
import { ensureBucket } from './s3.js';
import type { StartedService } from './service.js';

export const S3RVER_CREDENTIALS = { accessKey: 'S3RVER', secretKey: 'S3RVER' };

/**
 * `s3rver` (npm): a light S3 server for laptops without Debian's Swift. It has real gaps (no ListParts,
 * no signature checks): tests use Swift. It needs the legacy OpenSSL provider for ListObjectsV2 paging.
 */
export async function startS3rver(
  dir: string,
  bucket: string,
  options: { keepData?: boolean } = {},
): Promise<StartedService> {
  const port = await freePort();
  if (!options.keepData) fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  const bin = path.join(
    path.dirname(createRequire(import.meta.url).resolve('s3rver/package.json')),
    'bin/s3rver.js',
  );
  const logFile = fs.openSync(path.join(dir, 's3rver.log'), 'a');
  const child = spawn(
    process.execPath,
    ['--openssl-legacy-provider', bin, '-d', dir, '-a', '127.0.0.1', '-p', String(port), '--silent'],
    { stdio: ['ignore', logFile, logFile], detached: true },
  );
  child.unref();
  fs.closeSync(logFile);
  const stop = async () => {
    try {
      process.kill(child.pid!, 'SIGTERM');
    } catch {
      // already gone
    }
  };
  try {
    await waitForPort(port, STARTUP_DEADLINE_MS);
    const endpoint = `http://127.0.0.1:${port}`;
    await ensureBucket({ endpoint, ...S3RVER_CREDENTIALS, bucket, region: 'us-east-1' });
    return {
      name: 's3',
      url: endpoint,
      pids: [child.pid!],
      detail: `s3rver pid ${child.pid}, data ${dir}`,
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}
