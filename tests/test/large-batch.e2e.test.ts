import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Queue } from 'bullmq';
import { makeManyFileArchive } from '@audio/fixtures';
import { convertQueueName, createRedisConnection, readRedisConfig } from '@audio/queues';
import {
  batchRowCounts,
  createPipelineTestEnv,
  startInProcessApps,
  waitForBatchDone,
  type InProcessApps,
  type PipelineTestEnv,
} from './support/index.js';

const FILES = 1000;
let t: PipelineTestEnv;
let apps: InProcessApps;
let work: string;

beforeAll(async () => {
  t = await createPipelineTestEnv('large');
  apps = await startInProcessApps(t);
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'large-e2e-'));
});
afterAll(async () => {
  await apps?.close();
  await t?.close();
  fs.rmSync(work, { recursive: true, force: true });
});

describe(`a ${FILES}-file batch`, () => {
  it('completes, and its first transcript lands before its last conversion', async () => {
    const archive = path.join(work, 'large.tar');
    await makeManyFileArchive(archive, FILES);
    const batchId = await apps.ingest(archive);
    const batch = await waitForBatchDone(t.db, batchId, 900_000);

    expect(batch).toMatchObject({
      status: 'complete',
      succeededCount: FILES,
      failedCount: 0,
      fileCount: FILES,
    });
    expect(await batchRowCounts(t.db, batchId)).toEqual({
      audioFiles: FILES,
      transcripts: FILES,
      classifications: FILES,
      failures: 0,
    });

    const firstTranscript = await t.db.prisma.transcript.findFirst({
      where: { audioFile: { batchId } },
      orderBy: { createdAt: 'asc' },
    });
    const redis = createRedisConnection(readRedisConfig(t.env), 'worker');
    const convert = new Queue(convertQueueName(t.hostId), { connection: redis, prefix: t.prefix });
    const conversions = (await convert.getJobs(['completed'])).filter((j) => j.data.batchId === batchId);
    await convert.close();
    redis.disconnect();
    expect(conversions).toHaveLength(FILES);
    const lastConversion = Math.max(...conversions.map((j) => j.finishedOn!));
    expect(firstTranscript!.createdAt.getTime()).toBeLessThan(lastConversion);
  }, 900_000);
});
