import crypto from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { HeartbeatPublisher } from '@audio/queues';
import { QueueRegistry } from '../src/index.js';

describe('QueueRegistry', () => {
  const prefix = `{registry-${crypto.randomBytes(4).toString('hex')}}`;
  let redis: Redis;

  beforeAll(() => {
    redis = new Redis(process.env.REDIS_URL!);
  });
  afterAll(() => redis.disconnect());

  it("finds queues from heartbeats and from Redis keys (a dead host's backlog), and never drops them", async () => {
    // A host that died: its queue still holds a job, but no heartbeat names it.
    const deadHostQueue = new Queue('transcribe-dead-host', { connection: redis, prefix });
    await deadHostQueue.add('transcribe', { n: 1 });
    const heartbeat = new HeartbeatPublisher(
      redis,
      prefix,
      {
        hostId: 'live-host',
        app: 'gpu',
        version: 'test',
        queues: ['transcribe-live-host', 'finalize-live-host'],
      },
      async () => ({ activeJobs: 0, freeScratchBytes: null }),
    );
    await heartbeat.beat();
    const registry = new QueueRegistry(redis, prefix);
    const added: string[] = [];
    registry.onQueueAdded((q) => added.push(q.name));
    try {
      expect(added).toEqual(['unpack']);
      await registry.discover();
      expect(registry.names()).toEqual(['unpack', 'transcribe-live-host', 'finalize-live-host']);
      await registry.discover({ scanKeys: true });
      expect(registry.names()).toEqual([
        'unpack',
        'transcribe-dead-host',
        'transcribe-live-host',
        'finalize-live-host',
      ]);
      await heartbeat.stop();
      await registry.discover();
      expect(registry.names()).toContain('transcribe-live-host');
      expect(added.sort()).toEqual([...registry.names()].sort());
      expect(registry.add('not a pipeline queue')).toBeUndefined();
    } finally {
      await registry.close();
      await deadHostQueue.obliterate({ force: true });
      await deadHostQueue.close();
    }
  });
});
