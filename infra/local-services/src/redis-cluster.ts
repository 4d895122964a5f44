import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { execa } from 'execa';
import { Redis } from 'ioredis';
import { waitForPort, STARTUP_DEADLINE_MS } from './ports.js';
import { requireProgram } from './system-packages.js';

export interface ClusterNode {
  port: number;
  /** `127.0.0.1:port`, as REDIS_CLUSTER_NODES lists it. */
  address: string;
  process: ChildProcess;
}

export interface RedisCluster {
  nodes: ClusterNode[];
  /** `REDIS_CLUSTER_NODES` for the apps: every node's address, comma-separated. */
  nodeList: string;
  /** The master that serves `key`'s slot now, and its replicas' ports. */
  ownerOf(key: string): Promise<{ master: number; replicas: number[] }>;
  /** Resolves once every live node reports `cluster_state:ok` and every slot has a live master. */
  waitHealthy(timeoutMs?: number, minReplicas?: number): Promise<void>;
  /** What the node on `port` says it is now (ROLE): `master`, or `slave` while it replicates one. */
  role(port: number): Promise<string>;
  /** SIGKILL of one node, as a crash. */
  kill(port: number): Promise<void>;
  stop(): Promise<void>;
}

/**
 * A free port whose cluster bus port (port + 10000) is free too: Redis Cluster listens on both.
 * Drawn from 20000-29999, below the kernel's ephemeral range, so the bus port stays under 40000.
 */
async function freeClusterPort(taken: Set<number>): Promise<number> {
  const canBind = (port: number) =>
    new Promise<boolean>((resolve) => {
      const server = net.createServer();
      server.once('error', () => resolve(false));
      server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
    });
  for (;;) {
    const port = 20000 + Math.floor(Math.random() * 10000);
    if (taken.has(port)) continue;
    if ((await canBind(port)) && (await canBind(port + 10000))) {
      taken.add(port);
      return port;
    }
  }
}

/**
 * A throw-away Redis Cluster on loopback (tests, `pnpm test:scale`): `masters` masters with `replicas`
 * replicas each, no persistence, `noeviction`, a short `cluster-node-timeout` so a killed master's
 * replica takes over within seconds. Each node is a child process of the caller.
 */
export async function startRedisCluster(
  dataDir: string,
  options: { masters?: number; replicas?: number; nodeTimeoutMs?: number; log?: (line: string) => void } = {},
): Promise<RedisCluster> {
  const log = options.log ?? (() => undefined);
  const serverBinary = await requireProgram('redis-server', log);
  const cliBinary = await requireProgram('redis-cli', log);
  const count = (options.masters ?? 3) * (1 + (options.replicas ?? 1));
  const taken = new Set<number>();
  const nodes: ClusterNode[] = [];
  const stop = async () => {
    await Promise.all(nodes.map((n) => killNode(n)));
  };
  try {
    for (let i = 0; i < count; i++) {
      const port = await freeClusterPort(taken);
      const dir = path.join(dataDir, `node-${port}`);
      fs.mkdirSync(dir, { recursive: true });
      const child = spawn(
        serverBinary,
        [
          '--port',
          String(port),
          '--bind',
          '127.0.0.1',
          '--dir',
          dir,
          '--cluster-enabled',
          'yes',
          '--cluster-config-file',
          path.join(dir, 'nodes.conf'),
          '--cluster-node-timeout',
          String(options.nodeTimeoutMs ?? 3000),
          '--save',
          '',
          '--appendonly',
          'no',
          '--maxmemory-policy',
          'noeviction',
          '--logfile',
          path.join(dir, 'redis.log'),
        ],
        { stdio: 'ignore' },
      );
      nodes.push({ port, address: `127.0.0.1:${port}`, process: child });
    }
    for (const node of nodes) await waitForPort(node.port, STARTUP_DEADLINE_MS);
    await execa(cliBinary, [
      '--cluster',
      'create',
      ...nodes.map((n) => n.address),
      '--cluster-replicas',
      String(options.replicas ?? 1),
      '--cluster-yes',
    ]);
  } catch (error) {
    await stop();
    throw error;
  }

  const alive = () => nodes.filter((n) => n.process.exitCode === null && n.process.signalCode === null);
  const onNode = async <T>(port: number, run: (redis: Redis) => Promise<T>): Promise<T> => {
    const redis = new Redis(port, '127.0.0.1', { maxRetriesPerRequest: 1, retryStrategy: () => null });
    redis.on('error', () => undefined);
    try {
      return await run(redis);
    } finally {
      redis.disconnect();
    }
  };
  const slotMap = (port: number) =>
    onNode(
      port,
      (r) =>
        r.call('CLUSTER', 'SLOTS') as Promise<[number, number, [string, number], ...[string, number][]][]>,
    );

  const cluster: RedisCluster = {
    nodes,
    nodeList: nodes.map((n) => n.address).join(','),
    async ownerOf(key) {
      const node = alive()[0]!;
      const slot = await onNode(node.port, (r) => r.call('CLUSTER', 'KEYSLOT', key) as Promise<number>);
      const range = (await slotMap(node.port)).find(([from, to]) => slot >= from && slot <= to);
      if (!range) throw new Error(`no node serves slot ${slot} of ${key}`);
      const [, , master, ...replicas] = range;
      return { master: Number(master[1]), replicas: replicas.map((r) => Number(r[1])) };
    },
    async waitHealthy(timeoutMs = STARTUP_DEADLINE_MS, minReplicas = 0) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const live = alive();
        const livePorts = new Set(live.map((n) => n.port));
        const states = await Promise.all(
          live.map(async (n) => {
            try {
              const info = await onNode(n.port, (r) => r.call('CLUSTER', 'INFO') as Promise<string>);
              const slots = await slotMap(n.port);
              const covered = slots.reduce((sum, [from, to]) => sum + to - from + 1, 0);
              return (
                info.includes('cluster_state:ok') &&
                slots.every((range) => range.length - 3 >= minReplicas) &&
                covered === 16384 &&
                slots.every(([, , master]) => livePorts.has(Number(master[1])))
              );
            } catch {
              return false;
            }
          }),
        );
        if (states.every(Boolean)) return;
        if (Date.now() > deadline) throw new Error(`Redis Cluster not healthy after ${timeoutMs} ms`);
        await new Promise((r) => setTimeout(r, 200));
      }
    },
    async role(port) {
      const [role] = await onNode(port, (r) => r.call('ROLE') as Promise<[string, ...unknown[]]>);
      return role;
    },
    async kill(port) {
      const node = nodes.find((n) => n.port === port);
      if (!node) throw new Error(`no cluster node on port ${port}`);
      await killNode(node, 'SIGKILL');
    },
    stop,
  };
  // At start, each master's replicas too: a failover test needs them attached.
  await cluster.waitHealthy(STARTUP_DEADLINE_MS, options.replicas ?? 1);
  return cluster;
}

async function killNode(node: ClusterNode, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  const child = node.process;
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill(signal);
  await exited;
}
