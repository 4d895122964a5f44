import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import {
  AudioFileNotFoundError,
  AudioFileRepository,
  BatchNotFoundError,
  BatchRepository,
  ConflictingRecordError,
  DbInputError,
  type FileResultInput,
} from '../src/index.js';
import { openFreshDb, SHA_A, SHA_B, type FreshDb } from './support/fresh-db.js';

const BATCH = '20250622-143052-a1b2c3';

function result(originalFilename: string, overrides: Partial<FileResultInput> = {}): FileResultInput {
  return {
    batchId: BATCH,
    originalFilename,
    durationSeconds: 12.5,
    sizeBytes: 204_800,
    sha256: SHA_A,
    transcript: {
      text: 'hello there',
      language: 'en',
      segments: [{ start: 0, end: 1.2, text: 'hello there' }],
      model: 'whisperx-large-v3',
    },
    classification: {
      policyId: 'cope-hate',
      policyVersion: '1',
      flagged: true,
      score: 0.93,
      model: 'cope-a-9b',
    },
    ...overrides,
  };
}

describe('AudioFileRepository', () => {
  let fresh: FreshDb;
  let files: AudioFileRepository;

  beforeAll(async () => {
    // More connections than concurrent calls would hide waiting on the pool; fewer tests it.
    fresh = await openFreshDb(8);
    files = new AudioFileRepository(fresh.db);
    await new BatchRepository(fresh.db).create({
      batchId: BATCH,
      archiveKey: `archives/${BATCH}.tar`,
      sha256: SHA_B,
      sizeBytes: 10_000_000,
      source: 'sftp',
      transferredAt: new Date('2025-06-22T14:30:52Z'),
    });
  });
  afterAll(() => fresh?.close());

  async function rowCounts(originalFilename: string) {
    const { prisma } = fresh.db;
    const where = { batchId: BATCH, originalFilename };
    return {
      audioFiles: await prisma.audioFile.count({ where }),
      transcripts: await prisma.transcript.count({ where: { audioFile: where } }),
      classifications: await prisma.classification.count({ where: { audioFile: where } }),
    };
  }

  it('records file, transcript and classification, and a replay returns the same id without writing', async () => {
    const first = await files.recordFileResult(result('a/one.mp3'));
    const second = await files.recordFileResult(
      result('a/one.mp3', { transcript: { text: 'changed', language: 'en', segments: [], model: 'm' } }),
    );

    expect(first.created).toBe(true);
    expect(first.audioFileId).toMatch(/^[0-9a-f-]{36}$/);
    expect(second).toEqual({ audioFileId: first.audioFileId, created: false, s3OpusPath: null });
    expect(await rowCounts('a/one.mp3')).toEqual({ audioFiles: 1, transcripts: 1, classifications: 1 });
    const transcript = await fresh.db.prisma.transcript.findUniqueOrThrow({
      where: { audioFileId: first.audioFileId },
    });
    expect(transcript.text).toBe('hello there');
    expect(transcript.segments).toEqual([{ start: 0, end: 1.2, text: 'hello there' }]);
    const file = await files.get(first.audioFileId);
    expect(file).toMatchObject({ sizeBytes: 204_800n, durationSeconds: 12.5, sha256: SHA_A });
  });

  it('20 concurrent calls for one file leave one row per table and all return one id', async () => {
    const results = await Promise.all(
      Array.from({ length: 20 }, () => files.recordFileResult(result('b/concurrent.mp3'))),
    );

    expect(new Set(results.map((r) => r.audioFileId)).size).toBe(1);
    expect(results.filter((r) => r.created)).toHaveLength(1);
    expect(await rowCounts('b/concurrent.mp3')).toEqual({
      audioFiles: 1,
      transcripts: 1,
      classifications: 1,
    });
  });

  it('adds a classification under a new policy version to an existing file', async () => {
    const first = await files.recordFileResult(result('c/policy.mp3'));
    const next = await files.recordFileResult(
      result('c/policy.mp3', {
        classification: {
          policyId: 'cope-hate',
          policyVersion: 2,
          flagged: false,
          score: 0.1,
          model: 'cope-a-9b',
        },
      }),
    );

    expect(next.audioFileId).toBe(first.audioFileId);
    const versions = await fresh.db.prisma.classification.findMany({
      where: { audioFileId: first.audioFileId },
      orderBy: { policyVersion: 'asc' },
    });
    expect(versions.map((c) => [c.policyVersion, c.flagged])).toEqual([
      ['1', true],
      ['2', false],
    ]);
  });

  it('refuses the same batch and filename with different content, writing nothing', async () => {
    await files.recordFileResult(result('d/same-name.mp3'));
    await expect(files.recordFileResult(result('d/same-name.mp3', { sha256: SHA_B }))).rejects.toThrow(
      ConflictingRecordError,
    );
    expect(await rowCounts('d/same-name.mp3')).toEqual({ audioFiles: 1, transcripts: 1, classifications: 1 });
  });

  it('names the missing batch and the invalid field', async () => {
    await expect(
      files.recordFileResult(result('e.mp3', { batchId: '20990101-000000-ffffff' })),
    ).rejects.toThrow(new BatchNotFoundError('20990101-000000-ffffff'));
    const bad = files.recordFileResult(
      result('e.mp3', {
        classification: { policyId: 'p', policyVersion: '1', flagged: true, score: 1.5, model: 'm' },
      }),
    );
    await expect(bad).rejects.toThrow(DbInputError);
    await expect(bad).rejects.toThrow('record file result: classification.score must be between 0 and 1');
    expect(await files.countByBatch('20990101-000000-ffffff')).toBe(0);
  });

  it('sets the opus key, which a replay then reports', async () => {
    const { audioFileId } = await files.recordFileResult(result('f/opus.mp3'));
    const key = `processed/2025-06-22/${audioFileId}.opus`;
    await files.setOpusKey(audioFileId, key);

    expect((await files.get(audioFileId))?.s3OpusPath).toBe(key);
    expect(await files.recordFileResult(result('f/opus.mp3'))).toEqual({
      audioFileId,
      created: false,
      s3OpusPath: key,
    });
    await expect(files.setOpusKey('00000000-0000-4000-8000-000000000000', key)).rejects.toThrow(
      AudioFileNotFoundError,
    );
  });

  it('lists and counts the files of a batch in filename order', async () => {
    const listed = await files.listByBatch(BATCH);
    expect(listed.map((f) => f.originalFilename)).toEqual([
      'a/one.mp3',
      'b/concurrent.mp3',
      'c/policy.mp3',
      'd/same-name.mp3',
      'f/opus.mp3',
    ]);
    expect(await files.countByBatch(BATCH)).toBe(5);
  });
});
