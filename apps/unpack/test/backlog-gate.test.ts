import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import crypto from 'node:crypto';
import { Queue, Worker } from 'bullmq';
import { createLogger } from '@audio/logger';
import { createRedisConnection, type RedisClient, readRedisConfig } from '@audio/queues';
import { BacklogGate } from '../src/backlog-gate.js';

describe('BacklogGate on real Redis', () => {
  const prefix = `{gate-${crypto.randomBytes(3).toString('hex')}}`;
  let connection: RedisClient;
  let backlog: Queue;
  let shared: Worker;

  beforeAll(() => {
    connection = createRedisConnection(readRedisConfig(), 'worker');
    backlog = new Queue('transcribe-gate-host', { connection, prefix });
    shared = new Worker('unpack', async () => undefined, { connection, prefix, autorun: false });
  });
  afterAll(async () => {
    await shared.close();
    await backlog.obliterate({ force: true });
    await backlog.close();
    connection.disconnect();
  });

  it('stops taking archives while the host backlog is at the limit, and takes them again below it', async () => {
    const gate = new BacklogGate(() => shared, [backlog], 3, createLogger({ name: 'test', level: 'silent' }));
    await backlog.addBulk([1, 2].map((i) => ({ name: 'file', data: { i } })));
    await gate.check();
    expect(shared.isPaused()).toBe(false);

    await backlog.add('file', { i: 3 });
    await gate.check();
    expect(await gate.backlog()).toBe(3);
    expect(shared.isPaused()).toBe(true);

    await backlog.drain();
    await gate.check();
    expect(shared.isPaused()).toBe(false);
  });
});
