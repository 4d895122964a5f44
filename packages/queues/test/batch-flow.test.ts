import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import crypto from 'node:crypto';
import { UnrecoverableError, Worker, type Job } from 'bullmq';
import {
  BatchFlowProducer,
  batchJobIds,
  buildBatchFlow,
  convertQueueName,
  createRedisConnection,
  type RedisClient,
  finalizeQueueName,
  decodeFailure,
  readRedisConfig,
  toJobError,
  transcribeQueueName,
  type BatchFlowSpec,
} from '../src/index.js';

const hostId = 'test-host';
const spec = (files: number, run = 0): BatchFlowSpec => ({
  batchId: '20250622-143052-a1b2c3',
  hostId,
  run,
  transferredAt: '2025-06-22T14:30:52.000Z',
  archiveKey: 'archives/20250622-143052-a1b2c3.tar',
  refused: 1,
  files: Array.from({ length: files }, (_, index) => ({
    index,
    entry: `calls/${index}.mp3`,
    sourcePath: `src/${index}.mp3`,
    opusPath: `opus/${index}.opus`,
    sha256: 'a'.repeat(64),
    sizeBytes: 1000 + index,
  })),
});

describe('buildBatchFlow', () => {
  it('builds finalize ← transcribe ← convert with deterministic ids and ignoreDependencyOnFailure', () => {
    const flow = buildBatchFlow(spec(2));
    expect(flow.queueName).toBe('finalize-test-host');
    expect(flow.opts?.jobId).toBe('20250622-143052-a1b2c3-finalize');
    expect(
      flow.children?.map((c) => [c.queueName, c.opts?.jobId, c.opts?.ignoreDependencyOnFailure]),
    ).toEqual([
      ['transcribe-test-host', '20250622-143052-a1b2c3-0', true],
      ['transcribe-test-host', '20250622-143052-a1b2c3-1', true],
    ]);
    const grandchild = flow.children![1]!.children![0]!;
    expect([
      grandchild.queueName,
      grandchild.opts?.jobId,
      grandchild.opts?.ignoreDependencyOnFailure,
    ]).toEqual(['convert-test-host', '20250622-143052-a1b2c3-1-convert', true]);
  });

  it('gives replays ids of their own', () => {
    expect(batchJobIds('20250622-143052-a1b2c3', 2).transcribe(7)).toBe('20250622-143052-a1b2c3-r2-7');
  });
});

describe('batch flow on real Redis', () => {
  let connection: RedisClient;
  const config = readRedisConfig();
  const prefix = `{test-${crypto.randomBytes(4).toString('hex')}}`;
  const workers: Worker[] = [];

  beforeAll(() => {
    connection = createRedisConnection(config, 'worker');
  });
  afterAll(async () => {
    await Promise.all(workers.map((w) => w.close()));
    const keys = await connection.keys(`${prefix}:*`);
    if (keys.length) await connection.del(keys);
    connection.disconnect();
  });

  it('converts before transcribing, skips failed files, and runs finalize once with their reasons', async () => {
    const order: string[] = [];
    const finalized = new Promise<{ processed: number; failures: Record<string, string> }>((resolve) => {
      workers.push(
        new Worker(
          finalizeQueueName(hostId),
          async (job: Job) => {
            const failures = await job.getIgnoredChildrenFailures();
            const values = await job.getChildrenValues();
            resolve({ processed: Object.keys(values).length, failures });
          },
          { connection, prefix },
        ),
      );
    });
    workers.push(
      new Worker(
        convertQueueName(hostId),
        async (job: Job) => {
          order.push(`convert-${job.data.index}`);
          if (job.data.index === 1)
            throw toJobError({
              code: 'decode_error',
              stage: 'convert',
              entry: job.data.entry,
              message: 'ffmpeg could not decode',
              retryable: false,
              attempts: 1,
            });
          return { opus: job.data.opusPath };
        },
        { connection, prefix },
      ),
      new Worker(
        transcribeQueueName(hostId),
        async (job: Job) => {
          const failed = Object.values(await job.getIgnoredChildrenFailures());
          if (failed.length > 0) throw new UnrecoverableError(failed[0]); // passes the convert reason on
          order.push(`transcribe-${job.data.index}`);
          return { ok: true };
        },
        { connection, prefix },
      ),
    );

    const producer = new BatchFlowProducer(connection, prefix);
    expect(await producer.add(spec(3))).toBe(true);
    expect(await producer.add(spec(3))).toBe(false); // idempotent
    const result = await finalized;
    await producer.close();

    expect(result.processed).toBe(2);
    const reasons = Object.values(result.failures).map(decodeFailure);
    expect(reasons).toEqual([
      {
        code: 'decode_error',
        stage: 'convert',
        entry: 'calls/1.mp3',
        message: 'ffmpeg could not decode',
        retryable: false,
        attempts: 1,
      },
    ]);
    for (const i of [0, 2])
      expect(order.indexOf(`convert-${i}`)).toBeLessThan(order.indexOf(`transcribe-${i}`));
    expect(order).not.toContain('transcribe-1');
  });
});
