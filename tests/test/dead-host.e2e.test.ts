import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Queue } from 'bullmq';
import { id3TitleTag, speakToMp3, stripId3, writeTar } from '@audio/fixtures';
import { freePort } from '@audio/local-services';
import { createLogger } from '@audio/logger';
import { createRedisConnection, readRedisConfig, stageQueueName, type RedisClient } from '@audio/queues';
import { openTransferContext, type TransferContext } from '@audio/transfer';
import {
  createPipelineTestEnv,
  FAST_STALL_RECOVERY,
  spawnApp,
  waitFor,
  type AppProcess,
  type PipelineTestEnv,
} from './support/index.js';

const BATCHES = 20;
const FILES = 3;
const REPLAYED = 'dead host: batch replayed on the live hosts';

interface Host {
  name: string;
  env: NodeJS.ProcessEnv;
  unpack: AppProcess;
  gpu: AppProcess;
  metricsPort: number;
}

let t: PipelineTestEnv;
let transfer: TransferContext;
let redis: RedisClient;
let work: string;
const running: AppProcess[] = [];
const logger = createLogger({ name: 'test', pretty: false, level: 'warn' });

/** One GPU host: its own HOST_ID and scratch disk, its unpack and GPU apps as processes of their own. */
async function startHost(name: string, extra: NodeJS.ProcessEnv = {}): Promise<Host> {
  const scratch = path.join(t.scratchRoot, name);
  fs.mkdirSync(scratch, { recursive: true });
  const env = {
    ...t.env,
    HOST_ID: `${t.hostId}-${name}`,
    SCRATCH_ROOT: scratch,
    LOG_LEVEL: 'info',
    ...extra,
  };
  const metricsPort = await freePort();
  const unpack = spawnApp('unpack', { ...env, METRICS_PORT: String(metricsPort) });
  const gpu = spawnApp('gpu', env);
  running.push(unpack, gpu);
  await unpack.waitForLog((l) => l.msg === 'unpack app started');
  await gpu.waitForLog((l) => l.msg === 'gpu app started');
  return { name, env, unpack, gpu, metricsPort };
}

/** Every descendant of a process (the GPU app's sidecar), from /proc: a dead host loses them all. */
function descendants(pid: number): number[] {
  const children = fs
    .readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry))
    .flatMap((entry) => {
      try {
        const stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
        const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
        return ppid === pid ? [Number(entry)] : [];
      } catch {
        return []; // gone meanwhile
      }
    });
  return children.flatMap((child) => [child, ...descendants(child)]);
}

async function killHostForGood(host: Host): Promise<void> {
  const orphans = descendants(host.gpu.child.pid!);
  await Promise.all([host.unpack.kill('SIGKILL'), host.gpu.kill('SIGKILL')]);
  for (const pid of orphans) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // exited with its parent
    }
  }
}

const replayLines = (hosts: Host[]) =>
  hosts.flatMap((h) =>
    h.unpack.logs
      .filter((l) => l.msg === REPLAYED)
      .map((l) => ({ batchId: String(l.batchId), deadHost: String(l.deadHost), by: h.name })),
  );

async function deadHostReplayMetric(host: Host, deadHost: string): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${host.metricsPort}/metrics`)).text();
  const line = text
    .split('\n')
    .find((l) => l.startsWith('audio_dead_host_replays_total{') && l.includes(`dead_host="${deadHost}"`));
  return line ? Number(line.split(' ').at(-1)) : 0;
}

/** What the pipeline wrote for all batches: rows of every table and, per audio file, its Opus objects. */
async function snapshot(batchIds: string[]) {
  const audioFiles = await t.db.prisma.audioFile.findMany({
    where: { batchId: { in: batchIds } },
    orderBy: [{ batchId: 'asc' }, { originalFilename: 'asc' }],
  });
  const ids = new Set(audioFiles.map((a) => a.id));
  const opusKeys: string[] = [];
  for await (const object of t.store.listAll('processed/')) {
    const id = path.basename(object.key, '.opus');
    if (ids.has(id)) opusKeys.push(object.key);
  }
  const where = { audioFile: { batchId: { in: batchIds } } };
  return {
    audioFiles,
    transcripts: await t.db.prisma.transcript.findMany({ where, orderBy: { audioFileId: 'asc' } }),
    classifications: await t.db.prisma.classification.findMany({ where, orderBy: { id: 'asc' } }),
    failures: await t.db.prisma.processingFailure.count({ where: { batchId: { in: batchIds } } }),
    batches: await t.db.prisma.batch.findMany({
      where: { batchId: { in: batchIds } },
      orderBy: { batchId: 'asc' },
    }),
    runs: await t.db.prisma.batchRun.count({ where: { batchId: { in: batchIds } } }),
    opusKeys: opusKeys.sort(),
  };
}

beforeAll(async () => {
  t = await createPipelineTestEnv('hosts', {
    ...FAST_STALL_RECOVERY,
    // A host is silent after a missed beat or two, and dead a few seconds later: small, but well above
    // the beat interval, so a live host slowed by the load is not declared dead.
    HEARTBEAT_INTERVAL: '1s',
    DEAD_HOST_GRACE: '8s',
    DEAD_HOST_CHECK_INTERVAL: '1s',
  });
  transfer = await openTransferContext({ env: t.env, logger });
  redis = createRedisConnection(readRedisConfig(t.env), 'worker');
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'dead-host-e2e-'));
});
afterAll(async () => {
  await Promise.all(running.map((p) => p.kill('SIGTERM')));
  redis?.disconnect();
  await transfer?.close();
  await t?.close();
  fs.rmSync(work, { recursive: true, force: true });
});

describe('three GPU hosts, one of them killed for good', () => {
  it("replays the dead host's batches on the live hosts once each, and its late return changes nothing", async () => {
    // 20 archives of 3 MP3s each: one spoken clip, a title (the fixture backend's transcript) per file.
    const clip = path.join(work, 'clip.mp3');
    await speakToMp3('Recording number one.', clip);
    const audio = stripId3(fs.readFileSync(clip));
    const archives: string[] = [];
    for (let b = 0; b < BATCHES; b++) {
      const archive = path.join(work, `batch-${b}.tar`);
      await writeTar(
        archive,
        Array.from({ length: FILES }, (_, f) => ({
          name: `calls/${f}.mp3`,
          content: Buffer.concat([id3TitleTag(`batch ${b} file ${f}`), audio]),
        })),
      );
      archives.push(archive);
    }

    // Host a's sidecar takes a minute a file (the fixture's most): its batches are certainly unfinished when it dies.
    const [a, b, c] = await Promise.all([
      startHost('a', { FIXTURE_SECONDS_PER_ITEM: '60' }),
      startHost('b'),
      startHost('c'),
    ]);
    const batchIds = await Promise.all(
      archives.map(async (archive) => (await transfer.ingester.ingest(archive, { source: 'test' })).batchId),
    );
    expect(new Set(batchIds).size).toBe(BATCHES);

    // Three: the last one may still be inside its unpack job (taken over by BullMQ, not replayed).
    await waitFor('host a to own three unpacked batches', async () => {
      const owned = await t.db.prisma.batch.count({ where: { host: a.env.HOST_ID, status: 'unpacked' } });
      return owned >= 3 ? true : undefined;
    });
    await killHostForGood(a);
    // Read after its processes exited: nothing changes its rows any more.
    const ownedAtKill = await t.db.prisma.batch.findMany({ where: { host: a.env.HOST_ID } });
    expect(ownedAtKill.length).toBeGreaterThanOrEqual(3);
    expect(ownedAtKill.every((x) => x.status === 'unpacking' || x.status === 'unpacked')).toBe(true);

    // No one replays anything by hand: the detectors in b and c notice a's silence after the grace.
    const done = await waitFor(
      `all ${BATCHES} batches to complete`,
      async () => {
        const rows = await t.db.prisma.batch.findMany({ where: { batchId: { in: batchIds } } });
        return rows.every((r) => r.status === 'complete' || r.status === 'failed') ? rows : undefined;
      },
      600_000,
    );
    for (const row of done)
      expect(row).toMatchObject({ status: 'complete', succeededCount: FILES, failedCount: 0 });
    expect(done.every((r) => r.host === b.env.HOST_ID || r.host === c.env.HOST_ID)).toBe(true);

    const before = await snapshot(batchIds);
    expect(before.audioFiles).toHaveLength(BATCHES * FILES);
    expect(before.transcripts).toHaveLength(BATCHES * FILES);
    expect(before.classifications).toHaveLength(BATCHES * FILES);
    expect(before.failures).toBe(0);
    // Exactly one Opus object per audio file, and it is the one its row names.
    expect(before.opusKeys).toEqual(before.audioFiles.map((f) => f.s3OpusPath!).sort());

    // One replay per batch of a, whichever detector took it; each logged and counted.
    const replays = replayLines([b, c]);
    const replayed = replays.map((l) => l.batchId);
    expect(new Set(replayed).size).toBe(replayed.length);
    expect(replays.every((l) => l.deadHost === a.env.HOST_ID)).toBe(true);
    const ownedIds = new Set(ownedAtKill.map((x) => x.batchId));
    expect(replayed.every((id) => ownedIds.has(id))).toBe(true);
    // Its batches with a flow on a (their unpack job done) had only a replay to save them.
    expect(replayed.length).toBeGreaterThanOrEqual(2);
    const counted =
      (await deadHostReplayMetric(b, a.env.HOST_ID!)) + (await deadHostReplayMetric(c, a.env.HOST_ID!));
    expect(counted).toBe(replayed.length);
    for (const batch of ownedAtKill) {
      const runs = await t.db.prisma.batchRun.findMany({
        where: { batchId: batch.batchId },
        orderBy: { startedAt: 'asc' },
      });
      // A replay is a run of its own; a batch a was still unpacking went on under its stalled unpack job.
      expect(runs).toHaveLength(replayed.includes(batch.batchId) ? 2 : 1);
      expect(runs.at(-1)!.host).not.toBe(a.env.HOST_ID);
    }
    process.stdout.write(
      `dead-host e2e: host a owned ${ownedAtKill.length} unfinished batches at its death; ${replayed.length} replayed ` +
        `(${replays.filter((l) => l.by === 'b').length} by b, ${replays.filter((l) => l.by === 'c').length} by c)\n`,
    );

    // a comes back (same id, same scratch disk, now at normal speed) and works off what it left.
    const back = await startHost('a');
    const hostQueues = (['convert', 'transcribe', 'finalize'] as const).map(
      (stage) => new Queue(stageQueueName(stage, back.env.HOST_ID!), { connection: redis, prefix: t.prefix }),
    );
    await waitFor('host a to work off its old jobs', async () => {
      const counts = await Promise.all(
        hostQueues.map((q) =>
          q.getJobCounts('waiting', 'active', 'delayed', 'prioritized', 'waiting-children'),
        ),
      );
      return counts.every((n) => Object.values(n).every((v) => v === 0)) ? true : undefined;
    });
    await Promise.all(hostQueues.map((q) => q.close()));
    // Its old flows stood down and removed their scratch (a batch it was still extracting left a partial
    // directory that no flow names: the stale-scratch sweep's, hours later).
    for (const batch of ownedAtKill.filter((x) => x.status === 'unpacked'))
      expect(fs.existsSync(path.join(back.env.SCRATCH_ROOT!, batch.batchId))).toBe(false);
    // Not a row rewritten (its stale transcribe jobs saw the batches were taken over), not an object added.
    const after = await snapshot(batchIds);
    expect(after).toEqual(before);
    expect(replayLines([b, c, back])).toHaveLength(replayed.length);
  }, 900_000);
});
