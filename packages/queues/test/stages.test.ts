import { describe, expect, it } from '@jest/globals';
import { UnrecoverableError } from 'bullmq';
import {
  decodeFailure,
  failureOf,
  HOST_QUEUE_KINDS,
  parseHostQueueName,
  parseStageQueueName,
  PipelineError,
  stageJob,
  stageQueueName,
  STAGES,
  toJobError,
} from '../src/index.js';

describe('the stage table', () => {
  it('names shared and host-affine queues and reads them back', () => {
    expect(stageQueueName('unpack')).toBe('unpack');
    expect(stageQueueName('convert', 'gpu-07')).toBe('convert-gpu-07');
    expect(() => stageQueueName('transcribe')).toThrow('a host id is needed');
    expect(() => stageQueueName('finalize', 'a:b')).toThrow('invalid host id');
    expect(parseStageQueueName('unpack')).toEqual({ stage: 'unpack' });
    expect(parseStageQueueName('finalize-gpu-07')).toEqual({ stage: 'finalize', hostId: 'gpu-07' });
    expect(parseStageQueueName('unpack-gpu-07')).toBeUndefined();
    expect(parseStageQueueName('other')).toBeUndefined();
    expect(HOST_QUEUE_KINDS).toEqual(['convert', 'transcribe', 'finalize']);
    expect(parseHostQueueName('transcribe-gpu-07')).toEqual({ kind: 'transcribe', hostId: 'gpu-07' });
  });

  it('makes jobs checked against the payload schema, with the stage options', () => {
    const job = stageJob(
      'unpack',
      {
        batchId: '20250622-143052-a1b2c3',
        s3Key: 'archives/20250622-143052-a1b2c3.tar',
        transferredAt: '2025-06-22T14:30:52.000Z',
      },
      { jobId: '20250622-143052-a1b2c3' },
    );
    expect(job).toMatchObject({ name: 'unpack', queueName: 'unpack', data: { run: 0 } });
    expect(job.opts).toMatchObject({ ...STAGES.unpack.jobOptions, jobId: '20250622-143052-a1b2c3' });
    expect(() =>
      stageJob('unpack', { batchId: 'x', s3Key: 'k', transferredAt: 'now' }, { jobId: 'x' }),
    ).toThrow('job unpack/x has invalid data: batchId');
  });
});

describe('failures as data', () => {
  const context = { stage: 'convert' as const, entry: 'calls/a.mp3', attempts: 2 };

  it('completes a PipelineError with what the worker knows, and keeps what it says itself', () => {
    expect(failureOf(new PipelineError('decode_error', 'bad', { retryable: false }), context)).toEqual({
      code: 'decode_error',
      stage: 'convert',
      entry: 'calls/a.mp3',
      message: 'bad',
      retryable: false,
      attempts: 2,
    });
    const passedOn = new PipelineError('not_mp3', 'x', { stage: 'unpack', entry: 'b.mp3', attempts: 1 });
    expect(failureOf(passedOn, context)).toMatchObject({ stage: 'unpack', entry: 'b.mp3', attempts: 1 });
    expect(failureOf(new Error('S3 down'), context)).toMatchObject({ code: 'error', retryable: true });
    expect(failureOf(new UnrecoverableError('no'), context)).toMatchObject({
      code: 'error',
      retryable: false,
    });
  });

  it('round-trips through the job error, retryable or not', () => {
    const failure = failureOf(new PipelineError('decode_error', 'bad', { retryable: false }), context);
    const error = toJobError(failure);
    expect(error).toBeInstanceOf(UnrecoverableError);
    expect(decodeFailure(error.message)).toEqual(failure);
    expect(toJobError({ ...failure, retryable: true })).not.toBeInstanceOf(UnrecoverableError);
  });

  it('reads the older [code@stage] form without entry, and any other text as code error', () => {
    expect(decodeFailure('[decode_error@convert] ffmpeg: bad')).toEqual({
      code: 'decode_error',
      stage: 'convert',
      message: 'ffmpeg: bad',
      retryable: false,
    });
    expect(decodeFailure('[timeout] slow')).toEqual({ code: 'timeout', message: 'slow', retryable: false });
    expect(decodeFailure('job stalled more than allowable limit')).toMatchObject({ code: 'error' });
    expect(decodeFailure('{"not":"ours"}')).toMatchObject({ code: 'error', message: '{"not":"ours"}' });
    expect(decodeFailure(undefined)).toMatchObject({ code: 'error', message: 'unknown failure' });
  });
});
