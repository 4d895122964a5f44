import crypto from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Queue } from 'bullmq';
import { createLogger } from '@audio/logger';
import {
  createRedisConnection,
  type RedisClient,
  decodeFailure,
  MissingHandlerError,
  PipelineError,
  readRedisConfig,
  readWorkerTuning,
  stageJob,
  StageWorkers,
} from '../src/index.js';

const hostId = 'stage-test';
const batchId = '20250622-143052-a1b2c3';
const logger = createLogger({ name: 'stage-workers-test', level: 'silent' });

describe('StageWorkers', () => {
  let connection: RedisClient;
  const prefix = `{stage-${crypto.randomBytes(4).toString('hex')}}`;

  beforeAll(() => {
    connection = createRedisConnection(readRedisConfig(), 'worker');
  });
  afterAll(async () => {
    const keys = await connection.keys(`${prefix}:*`);
    if (keys.length) await connection.del(keys);
    connection.disconnect();
  });

  it('refuses to start when a served stage has no handler, or a handler serves nothing', () => {
    const options = { connection, prefix, hostId, logger };
    expect(() => new StageWorkers(['unpack', 'convert'], {}, options)).toThrow(MissingHandlerError);
    expect(() => new StageWorkers(['unpack'], {}, options)).toThrow(
      'no handler for the stages this app serves: unpack (queue unpack)',
    );
    const handle = async () => undefined;
    expect(() => new StageWorkers([], { convert: { handle, concurrency: 1 } }, options)).toThrow(
      'handlers for stages it does not serve: convert (queue convert-stage-test)',
    );
  });

  it('hands the handler parsed payloads and stores its failures as data', async () => {
    const seen: string[] = [];
    const workers = new StageWorkers(
      ['convert'],
      {
        convert: {
          concurrency: 2,
          handle: async (payload) => {
            seen.push(payload.entry);
            if (payload.entry === 'bad.mp3')
              throw new PipelineError('decode_error', 'no audio', { retryable: false });
            return { ok: true };
          },
        },
      },
      { connection, prefix, hostId, logger },
    );
    const common = { batchId, transferredAt: '2025-06-22T14:30:52.000Z', sourcePath: 's', opusPath: 'o' };
    const queue = new Queue('convert-stage-test', { connection, prefix });
    try {
      for (const [index, entry] of ['good.mp3', 'bad.mp3'].entries()) {
        const job = stageJob(
          'convert',
          { ...common, index, entry },
          { hostId, jobId: `${batchId}-${index}` },
        );
        await queue.add(job.name, job.data, job.opts);
      }
      // Data no schema accepts: refused before the handler, entry taken from what it carries.
      await queue.add('convert', { entry: 'raw.mp3' }, { jobId: 'broken', attempts: 1 });
      const deadline = Date.now() + 30_000;
      while (((await queue.getJobCounts('failed')).failed ?? 0) < 2 && Date.now() < deadline)
        await new Promise((r) => setTimeout(r, 50));

      expect(workers.queueNames).toEqual(['convert-stage-test']);
      expect(seen.sort()).toEqual(['bad.mp3', 'good.mp3']);
      const bad = await queue.getJob(`${batchId}-1`);
      expect(decodeFailure(bad?.failedReason)).toEqual({
        code: 'decode_error',
        stage: 'convert',
        entry: 'bad.mp3',
        message: 'no audio',
        retryable: false,
        attempts: 1,
      });
      const broken = await queue.getJob('broken');
      expect(decodeFailure(broken?.failedReason)).toMatchObject({
        code: 'invalid_payload',
        entry: 'raw.mp3',
        stage: 'convert',
      });
    } finally {
      await workers.close();
      await queue.close();
    }
  }, 60_000);

  it('keeps the newest JOB_KEEP_COMPLETED_COUNT finished jobs of its queue and removes older ones', async () => {
    const tuning = readWorkerTuning({ JOB_KEEP_COMPLETED_COUNT: '3', JOB_KEEP_FAILED_COUNT: '1' });
    expect(tuning.removeOnComplete).toEqual({ age: 24 * 3600, count: 3 });
    expect(tuning.removeOnFail).toEqual({ age: 7 * 24 * 3600, count: 1 });
    const keepHost = 'keep-test';
    const workers = new StageWorkers(
      ['finalize'],
      {
        finalize: {
          concurrency: 1,
          handle: async (payload) => {
            if (payload.run === 7) throw new PipelineError('error', 'fails', { retryable: false });
            return { ok: true };
          },
        },
      },
      { connection, prefix, hostId: keepHost, logger, tuning },
    );
    const queue = new Queue(`finalize-${keepHost}`, { connection, prefix });
    try {
      for (let run = 0; run < 10; run++) {
        const job = stageJob(
          'finalize',
          { batchId, run, hostId: keepHost, files: 1, refused: 0, archiveKey: 'archives/a.tar' },
          { hostId: keepHost, jobId: `${batchId}-finalize-${run}`, attempts: 1 },
        );
        await queue.add(job.name, job.data, job.opts);
      }
      const deadline = Date.now() + 30_000;
      const finished = async () => {
        const counts = await queue.getJobCounts('waiting', 'active', 'prioritized');
        return Object.values(counts).every((n) => n === 0);
      };
      while (!(await finished()) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));

      const completed = await queue.getJobs(['completed']);
      expect(completed.map((j) => j.data.run as number).sort((a, b) => a - b)).toEqual([6, 8, 9]);
      expect((await queue.getJobs(['failed'])).map((j) => j.data.run)).toEqual([7]);
      // The removed jobs' hashes are gone too, not only their places in the completed set.
      expect(await queue.getJob(`${batchId}-finalize-0`)).toBeUndefined();
    } finally {
      await workers.close();
      await queue.close();
    }
  }, 60_000);
});
