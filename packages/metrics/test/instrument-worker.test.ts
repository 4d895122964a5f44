import crypto from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Queue, UnrecoverableError, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { formatReason } from '@audio/queues';
import { PipelineMetrics } from '../src/index.js';

// A real worker on the test Redis: the histogram must see BullMQ's own timestamps and outcomes.
describe('PipelineMetrics.instrumentWorker', () => {
  const prefix = `{metrics-test-${crypto.randomBytes(4).toString('hex')}}`;
  const queueName = 'transcribe-test-host';
  let connection: Redis;
  let queue: Queue;

  beforeAll(async () => {
    connection = new Redis(process.env.REDIS_URL!, { maxRetriesPerRequest: null });
    queue = new Queue(queueName, { connection, prefix });
  });

  afterAll(async () => {
    await queue.obliterate({ force: true });
    await queue.close();
    connection.disconnect();
  });

  it('observes completed, retried and finally failed attempts by queue kind', async () => {
    const metrics = new PipelineMetrics({ processMetrics: false });
    const worker = new Worker(
      queueName,
      async (job) => {
        if (job.name === 'ok') return 'done';
        if (job.name === 'flaky' && job.attemptsMade === 0) throw new Error('first attempt fails');
        if (job.name === 'flaky') return 'done';
        throw new UnrecoverableError(
          formatReason({ code: 'decode_error', stage: 'convert', message: 'bad mp3' }),
        );
      },
      { connection, prefix, autorun: false },
    );
    metrics.instrumentWorker(worker);
    await queue.add('ok', {});
    await queue.add('flaky', {}, { attempts: 2 });
    await queue.add('bad', {}, { attempts: 3 });
    void worker.run();
    // Done when BullMQ has every job in a final state (the flaky one after its second attempt).
    for (;;) {
      const counts = await queue.getJobCounts('completed', 'failed');
      if (counts.completed === 2 && counts.failed === 1) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    await worker.close();

    const text = await metrics.registry.metrics();
    expect(text).toContain('audio_job_duration_seconds_count{queue_kind="transcribe",outcome="completed"} 2');
    expect(text).toContain('audio_job_duration_seconds_count{queue_kind="transcribe",outcome="retrying"} 1');
    expect(text).toContain('audio_job_duration_seconds_count{queue_kind="transcribe",outcome="failed"} 1');
    expect(text).toContain('audio_job_failures_total{queue_kind="transcribe",reason="decode_error"} 1');
  });
});
