import crypto from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { CreateBucketCommand, DeleteBucketCommand, S3Client } from '@aws-sdk/client-s3';
import type { Db } from '@audio/db';
import type { ObjectStore } from '@audio/storage';
import { formatAuditReport, StorageAudit, StorageAuditJanitor, type AuditReport } from '../src/index.js';
import { openTestTransfer, type TestTransfer } from './support/test-context.js';

// Real PostgreSQL and Swift (s3api), one inconsistency of each kind planted. The bucket is this file's
// own: an audit lists the whole `processed/` and `archives/` prefixes, which other test files share.
const SHA = 'e'.repeat(64);
const LATER = () => new Date(Date.now() + 48 * 3_600_000); // every object older than the 24 h grace

function s3Client(): S3Client {
  return new S3Client({
    endpoint: process.env.S3_ENDPOINT!,
    region: process.env.S3_REGION ?? 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId: process.env.S3_ACCESS_KEY!, secretAccessKey: process.env.S3_SECRET_KEY! },
  });
}

describe('StorageAudit (pnpm audit:storage)', () => {
  const bucket = `audit-${crypto.randomBytes(4).toString('hex')}`;
  let t: TestTransfer;
  let db: Db;
  let store: ObjectStore;
  let file: string;
  const ids: Record<string, string> = {};
  const put = (key: string) => store.putFile(file, key);
  const keys = async (prefix: string) => {
    const out: string[] = [];
    for await (const o of store.listAll(prefix)) out.push(o.key);
    return out.sort();
  };

  beforeAll(async () => {
    const s3 = s3Client();
    await s3.send(new CreateBucketCommand({ Bucket: bucket }));
    s3.destroy();
    t = await openTestTransfer({ S3_BUCKET: bucket });
    ({ db, store } = t.context);
    file = path.join(t.dir, 'object.bin');
    await fs.writeFile(file, 'opus or tar bytes');

    const batch = (batchId: string, status: 'transferred' | 'unpacking' | 'complete') =>
      db.prisma.batch.create({
        data: {
          batchId,
          archiveKey: `archives/${batchId}.tar`,
          sha256: SHA,
          sizeBytes: 10n,
          source: 'test',
          status,
          transferredAt: new Date(),
        },
      });
    // A: complete, archive present, three files.
    await batch('20250701-000000-aaaaaa', 'complete');
    await put('archives/20250701-000000-aaaaaa.tar');
    for (const name of ['kept', 'lost', 'unlinked']) {
      const row = await db.prisma.audioFile.create({
        data: {
          batchId: '20250701-000000-aaaaaa',
          originalFilename: `${name}.mp3`,
          sizeBytes: 1n,
          sha256: SHA,
        },
      });
      ids[name] = row.id;
    }
    const key = (name: string) => `processed/2025-07-01/${ids[name]}.opus`;
    await db.prisma.audioFile.update({ where: { id: ids.kept }, data: { s3OpusPath: key('kept') } });
    await put(key('kept'));
    // missing_opus: the row names an object that is not there (a demo's S3 thrown away).
    await db.prisma.audioFile.update({ where: { id: ids.lost }, data: { s3OpusPath: key('lost') } });
    // orphan_opus of a row without a key (the upload landed, the row update did not).
    await put(key('unlinked'));
    // orphan_opus of no row at all.
    await put('processed/2025-07-01/00000000-0000-4000-8000-000000000000.opus');
    // assignment_on_missing_audio: a reviewer holds the file whose audio is gone.
    const reviewer = await db.prisma.raUser.create({
      data: { username: 'ra', passwordHash: 'x', role: 'reviewer' },
    });
    await db.prisma.raAssignment.create({
      data: {
        audioFileId: ids.lost!,
        reviewerId: reviewer.id,
        leaseExpiresAt: new Date(Date.now() + 3_600_000),
      },
    });
    // orphan_archive: an archive no batch names.
    await put('archives/20250701-000000-0bbbbb.tar');
    // missing_archive: a transferred batch (repairable), an unpacking one (left alone); a complete one
    // whose archive was deleted after completion is fine.
    await batch('20250701-000000-cccccc', 'transferred');
    await batch('20250701-000000-dddddd', 'unpacking');
    await batch('20250701-000000-eeeeee', 'complete');
  });

  afterAll(async () => {
    if (store) await store.deleteMany(await keys('')).catch(() => undefined);
    await t?.close();
    const s3 = s3Client();
    await s3.send(new DeleteBucketCommand({ Bucket: bucket })).catch(() => undefined);
    s3.destroy();
  });

  const summary = (r: AuditReport) =>
    r.findings.map((f) => [f.kind, f.batchId ?? f.key, f.repairable, f.repaired]).sort();

  it('reports each kind without changing anything; orphans younger than the grace period are left alone', async () => {
    const report = await new StorageAudit(t.context).run();
    expect(report.totals).toEqual({
      missing_opus: 1,
      orphan_opus: 2,
      orphan_archive: 1,
      missing_archive: 2,
      assignment_on_missing_audio: 1,
    });
    expect(report.counted).toMatchObject({
      audioRowsWithOpusKey: 2,
      opusObjects: 3,
      batches: 4,
      archiveObjects: 2,
      completeWithoutArchive: 1,
      openAssignments: 1,
    });
    expect(summary(report)).toEqual([
      ['assignment_on_missing_audio', '20250701-000000-aaaaaa', true, false],
      ['missing_archive', '20250701-000000-cccccc', true, false],
      ['missing_archive', '20250701-000000-dddddd', false, false],
      ['missing_opus', '20250701-000000-aaaaaa', true, false],
      ['orphan_archive', 'archives/20250701-000000-0bbbbb.tar', false, false],
      ['orphan_opus', '20250701-000000-aaaaaa', true, false],
      ['orphan_opus', 'processed/2025-07-01/00000000-0000-4000-8000-000000000000.opus', false, false],
    ]);
    const text = formatAuditReport(report);
    expect(text).toContain('  missing_opus: 1\n');
    expect(text).toMatch(
      /- missing_archive: batch 20250701-000000-dddddd \(unpacking\).*\n {4}none: a unpacking batch may still finish/,
    );
    expect(text).toContain('repair would: clear the row’s Opus key');
    // Nothing changed.
    expect(await keys('orphaned/')).toEqual([]);
    expect((await db.prisma.batch.findUnique({ where: { batchId: '20250701-000000-cccccc' } }))?.status).toBe(
      'transferred',
    );
  });

  it('runs as a janitor (STORAGE_AUDIT_INTERVAL): a warning with the totals, nothing changed', async () => {
    const warnings: [unknown, string][] = [];
    const logger = { warn: (o: unknown, m: string) => warnings.push([o, m]), info: () => undefined };
    const janitor = new StorageAuditJanitor(new StorageAudit({ ...t.context, logger: logger as never }), {
      intervalMs: 3_600_000,
      repair: false,
      logger: logger as never,
    });
    const report = await janitor.runOnce();
    expect(report.findings).toHaveLength(7);
    expect(warnings).toEqual([
      [
        expect.objectContaining({ unrepaired: 7, totals: expect.objectContaining({ missing_opus: 1 }) }),
        'storage audit: the database and the bucket disagree (pnpm audit:storage lists the findings)',
      ],
    ]);
    expect(await keys('orphaned/')).toEqual([]);
  });

  it('--repair makes the safe repairs, and a second run finds only what it refuses to touch', async () => {
    const repaired = await new StorageAudit(t.context).run({ repair: true, now: LATER() });
    expect(repaired.refusals).toEqual([]);
    expect(summary(repaired).filter(([, , , done]) => done)).toHaveLength(6);

    const lost = await db.prisma.audioFile.findUnique({ where: { id: ids.lost! } });
    expect(lost?.s3OpusPath).toBeNull();
    const unlinked = await db.prisma.audioFile.findUnique({ where: { id: ids.unlinked! } });
    expect(unlinked?.s3OpusPath).toBe(`processed/2025-07-01/${ids.unlinked}.opus`);
    expect((await db.prisma.raAssignment.findFirst())?.status).toBe('released');
    expect(await db.prisma.batch.findUnique({ where: { batchId: '20250701-000000-cccccc' } })).toMatchObject({
      status: 'failed',
      errorCode: 'archive_missing',
    });
    expect(await keys('orphaned/')).toEqual([
      'orphaned/archives/20250701-000000-0bbbbb.tar',
      'orphaned/processed/2025-07-01/00000000-0000-4000-8000-000000000000.opus',
    ]);
    expect(await keys('archives/')).toEqual(['archives/20250701-000000-aaaaaa.tar']);

    const again = await new StorageAudit(t.context).run({ repair: true, now: LATER() });
    expect(summary(again)).toEqual([
      ['missing_archive', '20250701-000000-cccccc', false, false],
      ['missing_archive', '20250701-000000-dddddd', false, false],
    ]);
  });

  it('moves no orphan when they are most of the bucket (a wrong database), unless forced', async () => {
    const ghosts = Array.from({ length: 12 }, (_, i) => `processed/2025-07-02/ghost-${i}.opus`);
    for (const key of ghosts) await put(key);
    const refused = await new StorageAudit(t.context).run({ repair: true, now: LATER() });
    expect(refused.refusals).toEqual([
      expect.stringMatching(
        /^12 of 15 objects have no row: that looks like the wrong DATABASE_URL or S3_BUCKET/,
      ),
    ]);
    expect(await keys('processed/2025-07-02/')).toEqual([...ghosts].sort());
    await new StorageAudit(t.context).run({ repair: true, force: true, now: LATER() });
    expect(await keys('processed/2025-07-02/')).toEqual([]);
  });
});
