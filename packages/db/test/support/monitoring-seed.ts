import type { Db } from '../../src/index.js';

/** The pinned "now" of the monitoring tests: 12:30 in Berlin (UTC+2 in June). */
export const NOW = new Date('2025-06-23T10:30:00Z');

const SHA = 'c'.repeat(64);
const at = (iso: string) => new Date(iso);

type Status = 'transferred' | 'unpacking' | 'unpacked' | 'complete' | 'failed';

/** [id, transferred, status, host, completed] */
const BATCHES: [string, string, Status, string | null, string | null][] = [
  ['20250622-220000-aaaaa1', '2025-06-22T22:00:00Z', 'complete', 'gpu-a', '2025-06-23T03:00:00Z'], // 5 h
  ['20250623-010000-aaaaa2', '2025-06-23T01:00:00Z', 'complete', 'gpu-b', '2025-06-23T09:00:00Z'], // 8 h
  ['20250623-020000-aaaaa3', '2025-06-23T02:00:00Z', 'complete', 'gpu-a', '2025-06-23T10:15:00Z'], // 8 h 15, after noon
  ['20250623-030000-aaaaa4', '2025-06-23T03:00:00Z', 'unpacked', 'gpu-b', null],
  ['20250623-050000-aaaaa5', '2025-06-23T05:00:00Z', 'unpacking', 'gpu-a', null], // after the 06:00 cutoff
  ['20250623-093000-aaaaa6', '2025-06-23T09:30:00Z', 'transferred', null, null], // 1 h old: not stuck
  ['20250623-070000-aaaaa7', '2025-06-23T07:00:00Z', 'failed', 'gpu-a', null],
  ['20250610-000000-aaaaa8', '2025-06-10T00:00:00Z', 'unpacking', 'gpu-b', null], // before the 7-day lookback
  ['20250621-120000-aaaaa9', '2025-06-21T12:00:00Z', 'complete', 'gpu-a', '2025-06-21T14:00:00Z'], // outside 24 h
];

/** [batch suffix, name, created, has opus key, classifications: [policy, version, flagged, score][]] */
const FILES: [string, string, string, boolean, [string, string, boolean, number][]][] = [
  ['1', 'b1a', '2025-06-23T02:10:00Z', true, [['cope-hate', '1', true, 0.9]]],
  ['1', 'b1b', '2025-06-23T02:20:00Z', true, [['cope-hate', '1', false, 0.1]]],
  [
    '2',
    'b2a',
    '2025-06-23T08:15:00Z',
    true,
    [
      ['cope-hate', '1', true, 0.8],
      ['cope-violence', '2', true, 0.7],
    ],
  ],
  ['2', 'b2b', '2025-06-23T08:45:00Z', true, [['cope-hate', '1', false, 0.2]]],
  ['2', 'b2c', '2025-06-23T09:05:00Z', true, [['cope-hate', '1', false, 0.3]]],
  ['2', 'b2d', '2025-06-23T09:20:00Z', true, [['cope-hate', '1', true, 0.95]]],
  [
    '3',
    'b3a',
    '2025-06-23T09:10:00Z',
    false,
    [
      ['cope-hate', '1', false, 0.05],
      ['cope-violence', '2', false, 0.4],
    ],
  ],
  ['3', 'b3b', '2025-06-23T10:05:00Z', true, [['cope-hate', '1', true, 0.6]]],
  ['4', 'b4a', '2025-06-23T10:25:00Z', false, [['cope-hate', '1', false, 0.1]]], // within the 10-min opus grace
  ['4', 'b4b', '2025-06-23T10:45:00Z', false, [['cope-hate', '1', false, 0.15]]], // after NOW: never counted
  ['9', 'b9a', '2025-06-21T13:00:00Z', false, [['cope-hate', '1', true, 0.85]]],
];

/** [batch suffix, entry, stage, reason, updated] */
const FAILURES: [string, string, 'unpack' | 'convert' | 'transcribe', string, string][] = [
  ['3', 'x/a.mp3', 'convert', 'decode_error', '2025-06-23T09:00:00Z'],
  ['3', 'x/b.mp3', 'convert', 'decode_error', '2025-06-23T08:00:00Z'],
  ['4', 'y/c.mp3', 'transcribe', 'sidecar_timeout', '2025-06-23T10:00:00Z'],
  ['4', 'y/d.mp3', 'convert', 'decode_error', '2025-06-22T12:00:00Z'],
  ['7', '', 'unpack', 'corrupt_archive', '2025-06-23T07:30:00Z'],
  ['8', 'z/e.mp3', 'convert', 'not_mp3', '2025-06-20T00:00:00Z'], // outside 24 h
];

/** [reviewer, file, created] */
const LABELS: [string, string, string][] = [
  ['alice', 'b1a', '2025-06-23T07:00:00Z'],
  ['alice', 'b1b', '2025-06-22T23:30:00Z'], // 01:30 on the 23rd in Berlin
  ['alice', 'b2b', '2025-06-23T08:50:00Z'],
  ['bob', 'b1a', '2025-06-22T15:00:00Z'],
  ['bob', 'b2d', '2025-06-23T09:50:00Z'],
  ['carol', 'b3a', '2025-06-21T10:00:00Z'], // outside a 2-day window
];

const batchId = (suffix: string) => BATCHES.find(([id]) => id.endsWith(`aaaaa${suffix}`))![0];

/**
 * A day of the pipeline with known numbers (see the expectations in monitoring-queries.test.ts).
 * Flagged files: b1a, b2a, b2d, b3b, b9a; labelled: b1a, b2d → the review queue holds b9a, b2a, b3b,
 * and b2a is leased to carol.
 */
export async function seedMonitoringData(db: Db): Promise<Record<string, string>> {
  const { prisma } = db;
  await prisma.batch.createMany({
    data: BATCHES.map(([id, transferred, status, host, completed]) => ({
      batchId: id,
      archiveKey: `archives/${id}.tar`,
      sha256: SHA,
      sizeBytes: 1_000_000n,
      source: 'sftp',
      status,
      host,
      transferredAt: at(transferred),
      completedAt: completed ? at(completed) : null,
    })),
  });
  const fileIds: Record<string, string> = {};
  for (const [suffix, name, created, hasOpus, classifications] of FILES) {
    const file = await prisma.audioFile.create({
      data: {
        batchId: batchId(suffix),
        originalFilename: `${name}.mp3`,
        sizeBytes: 1000n,
        sha256: SHA,
        createdAt: at(created),
        s3OpusPath: hasOpus ? `processed/${created.slice(0, 10)}/${name}.opus` : null,
      },
    });
    fileIds[name] = file.id;
    await prisma.transcript.create({
      data: {
        audioFileId: file.id,
        text: `words of ${name}`,
        language: 'en',
        segments: [],
        model: 'fixture',
        createdAt: at(created),
      },
    });
    await prisma.classification.createMany({
      data: classifications.map(([policyId, policyVersion, flagged, score]) => ({
        audioFileId: file.id,
        policyId,
        policyVersion,
        flagged,
        score,
        model: 'fixture',
        createdAt: at(created),
      })),
    });
  }
  await prisma.processingFailure.createMany({
    data: FAILURES.map(([suffix, entry, stage, reasonCode, updated]) => ({
      batchId: batchId(suffix),
      entry,
      stage,
      reasonCode,
      message: reasonCode,
      attempts: 3,
      createdAt: at(updated),
      updatedAt: at(updated),
    })),
  });
  const users: Record<string, string> = {};
  for (const username of ['alice', 'bob', 'carol']) {
    users[username] = (
      await prisma.raUser.create({ data: { username, passwordHash: 'x', role: 'reviewer' } })
    ).id;
  }
  await prisma.raLabel.createMany({
    data: LABELS.map(([username, file, created]) => ({
      reviewerId: users[username]!,
      audioFileId: fileIds[file]!,
      answers: { ok: true },
      createdAt: at(created),
      updatedAt: at(created),
    })),
  });
  // The view judges leases by the real clock, so this one runs far into the future.
  await prisma.raAssignment.create({
    data: { audioFileId: fileIds.b2a!, reviewerId: users.carol!, leaseExpiresAt: at('2099-01-01T00:00:00Z') },
  });
  return fileIds;
}
