import crypto from 'node:crypto';
import { once } from 'node:events';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { freePort } from '@audio/local-services';
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

  it('closes while Redis is down without an unhandled rejection when the connection then goes (bullmq#3546)', async () => {
    const port = await freePort(); // nothing listens there
    const down = new Redis(`redis://127.0.0.1:${port}`, {
      maxRetriesPerRequest: 1,
      enableOfflineQueue: false,
    });
    down.on('error', () => undefined);
    const rejections: unknown[] = [];
    const onRejection = (reason: unknown) => rejections.push(reason);
    process.on('unhandledRejection', onRejection);
    try {
      const registry = new QueueRegistry(down, prefix); // its unpack queue waits for a connection
      await once(down, 'error');
      await registry.close();
      const ended = once(down, 'end');
      down.disconnect();
      await ended;
      // A rejection is reported as unhandled after the microtasks of the turn that rejected it.
      await new Promise((resolve) => setImmediate(resolve));
      expect(rejections.map(String)).toEqual([]);
    } finally {
      process.off('unhandledRejection', onRejection);
    }
  });
});
