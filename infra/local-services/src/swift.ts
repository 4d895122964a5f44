import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { freePort, waitForPort, STARTUP_DEADLINE_MS } from './ports.js';
import { ensureBucket, type S3Settings } from './s3.js';
import type { StartedService } from './service.js';
import { requireProgram } from './system-packages.js';

// Debian's Swift is a Python 3 package of the system interpreter, not of pyenv or a venv.
const SYSTEM_PYTHON = '/usr/bin/python3';
const HELPERS = path.resolve(import.meta.dirname, '../swift');
export const SWIFT_CREDENTIALS = { accessKey: 'test:tester', secretKey: 'testing' };

const PROXY_PIPELINE =
  'catch_errors gatekeeper healthcheck proxy-logging cache listing_formats bulk s3api tempauth copy slo dlo ' +
  'versioned_writes symlink proxy-logging proxy-server';

function serverConf(dir: string, name: string, port: number, body: string): string {
  return `[DEFAULT]
bind_ip = 127.0.0.1
bind_port = ${port}
workers = 0
mount_check = false
devices = ${dir}/devices
swift_dir = ${dir}
log_name = ${name}
log_level = WARNING

${body}
`;
}

function writeConfigs(
  dir: string,
  ports: Record<'proxy' | 'account' | 'container' | 'object', number>,
): void {
  fs.mkdirSync(path.join(dir, 'devices', 'd1'), { recursive: true });
  fs.writeFileSync(
    path.join(dir, 'swift.conf'),
    `[swift-hash]\nswift_hash_path_suffix = audio-pipeline-local\nswift_hash_path_prefix = local\n\n` +
      `[storage-policy:0]\nname = Policy-0\ndefault = yes\n`,
  );
  for (const kind of ['account', 'container', 'object'] as const) {
    fs.writeFileSync(
      path.join(dir, `${kind}-server.conf`),
      serverConf(
        dir,
        `${kind}-server`,
        ports[kind],
        `[pipeline:main]\npipeline = ${kind}-server\n\n[app:${kind}-server]\nuse = egg:swift#${kind}\n\n` +
          `[${kind}-replicator]\n[${kind}-auditor]\n${kind === 'object' ? '[object-updater]\n' : ''}`,
      ),
    );
  }
  // [section, egg entry point]; sections are named as the pipeline names them.
  const filters = [
    ['catch_errors', 'catch_errors'],
    ['gatekeeper', 'gatekeeper'],
    ['healthcheck', 'healthcheck'],
    ['proxy-logging', 'proxy_logging'],
    ['listing_formats', 'listing_formats'],
    ['bulk', 'bulk'],
    ['copy', 'copy'],
    ['slo', 'slo'],
    ['dlo', 'dlo'],
    ['versioned_writes', 'versioned_writes'],
    ['symlink', 'symlink'],
  ]
    .map(([section, egg]) => `[filter:${section}]\nuse = egg:swift#${egg}\n`)
    .join('\n');
  fs.writeFileSync(
    path.join(dir, 'proxy-server.conf'),
    serverConf(
      dir,
      'proxy-server',
      ports.proxy,
      `[pipeline:main]\npipeline = ${PROXY_PIPELINE}\n\n` +
        `[app:proxy-server]\nuse = egg:swift#proxy\naccount_autocreate = true\n` +
        // Swift's defaults (0.5 s to connect to a backend server) are for dedicated machines; on a
        // loaded 2-core test machine they turn slow moments into 503 SlowDown.
        `conn_timeout = 5\nnode_timeout = 60\nrecoverable_node_timeout = 60\nclient_timeout = 120\n\n` +
        `[filter:s3api]\nuse = egg:swift#s3api\nlocation = us-east-1\n\n` +
        `[filter:tempauth]\nuse = egg:swift#tempauth\nuser_test_tester = testing .admin\n\n` +
        `[filter:cache]\nuse = egg:swift#memcache\n\n${filters}`,
    ),
  );
}

/**
 * OpenStack Swift (Debian 2.30) as a single-node all-in-one with s3api on loopback: the production
 * target, so tests meet its real checks and gaps (Content-MD5, 1000 parts, no conditional PUT).
 */
export async function startSwift(
  dir: string,
  bucket: string,
  log: (line: string) => void,
  options: { keepData?: boolean } = {},
): Promise<StartedService> {
  await requireProgram('swift-proxy-server', log);
  // Kept data: configs and rings are written anew (new ports), the objects under devices/ stay.
  if (!options.keepData) fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  const ports = {
    proxy: await freePort(),
    account: await freePort(),
    container: await freePort(),
    object: await freePort(),
  };
  writeConfigs(dir, ports);
  await execa(SYSTEM_PYTHON, [
    path.join(HELPERS, 'make_rings.py'),
    dir,
    String(ports.account),
    String(ports.container),
    String(ports.object),
  ]);
  const logFile = fs.openSync(path.join(dir, 'swift.log'), 'a');
  const children = (['account', 'container', 'object', 'proxy'] as const).map((server) => {
    const child = spawn(
      SYSTEM_PYTHON,
      [
        path.join(HELPERS, 'launch.py'),
        path.join(dir, 'swift.conf'),
        server,
        path.join(dir, `${server}-server.conf`),
      ],
      { stdio: ['ignore', logFile, logFile], detached: true },
    );
    child.unref();
    return child;
  });
  fs.closeSync(logFile);
  const pids = children.map((c) => c.pid!).filter(Boolean);
  const stop = async () => {
    for (const pid of pids) {
      try {
        process.kill(pid, 'SIGTERM');
      } catch {
        // already gone
      }
    }
  };
  try {
    await Promise.all(Object.values(ports).map((port) => waitForPort(port, STARTUP_DEADLINE_MS)));
    const endpoint = `http://127.0.0.1:${ports.proxy}`;
    const settings: S3Settings = { endpoint, ...SWIFT_CREDENTIALS, bucket, region: 'us-east-1' };
    await retry(() => ensureBucket(settings), STARTUP_DEADLINE_MS);
    return { name: 's3', url: endpoint, pids, detail: `OpenStack Swift s3api, data ${dir}`, stop };
  } catch (error) {
    await stop();
    const tail = fs.readFileSync(path.join(dir, 'swift.log'), 'utf8').split('\n').slice(-15).join('\n');
    throw new Error(`Swift did not start: ${(error as Error).message}\n${tail}`);
  }
}

async function retry(fn: () => Promise<void>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await fn();
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}
