import path from 'node:path';
import { BatchRepository, type Db } from '@audio/db';
import type { Logger } from '@audio/logger';
import type { ObjectStore } from '@audio/storage';

// Postgres and S3 must agree: every Opus key a row names exists, every object is named by a row, every
// archive has its batch and every unfinished batch its archive. Nothing else checks it (Swift has no
// lifecycle rules or events), and a database restored or recreated apart from its bucket breaks it
// silently: the review page then leases items whose audio is gone.

export const INCONSISTENCY_KINDS = [
  'missing_opus',
  'orphan_opus',
  'orphan_archive',
  'missing_archive',
  'assignment_on_missing_audio',
] as const;
export type InconsistencyKind = (typeof INCONSISTENCY_KINDS)[number];

export interface Finding {
  kind: InconsistencyKind;
  /** The object key concerned (the missing one, or the orphan). */
  key: string | null;
  batchId: string | null;
  audioFileId: string | null;
  detail: string;
  /** What --repair does (or did) about it, or why it leaves it alone. */
  repair: string;
  /** Whether --repair changes anything for it. */
  repairable: boolean;
  /** With --repair: whether the change was made. */
  repaired: boolean;
}

export interface AuditReport {
  checkedAt: string;
  durationMs: number;
  repair: boolean;
  counted: {
    audioRowsWithOpusKey: number;
    opusObjects: number;
    batches: number;
    archiveObjects: number;
    /** Complete batches whose archive was deleted, as DELETE_ARCHIVE_AFTER_COMPLETE asks: not a finding. */
    completeWithoutArchive: number;
    openAssignments: number;
  };
  /** Findings per kind, every kind present. */
  totals: Record<InconsistencyKind, number>;
  findings: Finding[];
  /** Repairs refused as a whole (e.g. the wrong database for this bucket), one line each. */
  refusals: string[];
}

export interface StorageAuditOptions {
  /** Make the safe repairs. Default false: report only. */
  repair?: boolean;
  /**
   * Objects younger than this are never orphans (default 24 h): an archive is uploaded before its batch
   * row is written, an Opus copy before its row names it.
   */
  graceMs?: number;
  /** Quarantine orphans even when they are most of the bucket (see refusals). */
  force?: boolean;
  now?: Date;
}

/** Where orphans go: copied under this prefix, then deleted, so that a mistaken repair can be undone. */
export const QUARANTINE_PREFIX = 'orphaned/';
const OPUS_PREFIX = 'processed/';
const ARCHIVE_PREFIX = 'archives/';
const ROW_PAGE = 5000;

/**
 * `pnpm audit:storage` and the janitor: compares the bucket's `processed/` and `archives/` listings with
 * the database. Repairs (only with `repair`), each safe to repeat:
 * - missing_opus: the row's key is cleared (the file is then "without Opus copy", which /status and the
 *   review page say plainly); the transcript, classification and labels stay. A replay of the batch
 *   while its archive exists writes the object and the key again.
 * - orphan_opus: if the key's audio id is a row without a key, the key is recorded on it; otherwise the
 *   object (older than the grace period) is moved to `orphaned/`.
 * - orphan_archive: moved to `orphaned/` (older than the grace period).
 * - missing_archive: a batch still `transferred` is marked failed (`archive_missing`: it can never be
 *   unpacked); a batch being unpacked or processed is left alone (its files may be on a host's scratch
 *   already), and a failed one stays failed.
 * - assignment_on_missing_audio: the open lease is released, so no reviewer holds an item they cannot
 *   play.
 * It never deletes a row or an object outright, and moves no orphan when orphans are more than half of
 * the objects listed (more than 10): that is a wrong DATABASE_URL or S3_BUCKET, not drift (`force`
 * overrides).
 */
export class StorageAudit {
  constructor(private readonly deps: { db: Db; store: ObjectStore; logger?: Logger }) {}

  async run(options: StorageAuditOptions = {}): Promise<AuditReport> {
    const started = Date.now();
    const now = options.now ?? new Date();
    const graceMs = options.graceMs ?? 24 * 3_600_000;
    const old = (o: { lastModified?: Date }) =>
      o.lastModified !== undefined && now.getTime() - o.lastModified.getTime() >= graceMs;
    const { prisma } = this.deps.db;

    const [opusObjects, archiveObjects, rows, batches] = await Promise.all([
      this.listing(OPUS_PREFIX),
      this.listing(ARCHIVE_PREFIX),
      this.audioRows(),
      prisma.batch.findMany({ select: { batchId: true, archiveKey: true, status: true } }),
    ]);
    const findings: Finding[] = [];
    const finding = (f: Omit<Finding, 'repaired'>) => findings.push({ ...f, repaired: false });

    // Rows whose Opus object is gone.
    const keyed = new Map<string, { id: string; batchId: string }>();
    const unkeyed = new Map<string, { id: string; batchId: string }>();
    for (const row of rows) {
      if (row.key === null) {
        unkeyed.set(row.id, row);
        continue;
      }
      keyed.set(row.key, row);
      if (!opusObjects.has(row.key)) {
        finding({
          kind: 'missing_opus',
          key: row.key,
          batchId: row.batchId,
          audioFileId: row.id,
          detail: `audio row ${row.id} (batch ${row.batchId}) names ${row.key}, which is not in the bucket`,
          repair: 'clear the row’s Opus key (results and labels stay; a replay writes both again)',
          repairable: true,
        });
      }
    }
    // Opus objects no row names.
    for (const [key, object] of opusObjects) {
      if (keyed.has(key)) continue;
      const audioId = path.posix.basename(key, '.opus');
      const row = unkeyed.get(audioId);
      if (row) {
        finding({
          kind: 'orphan_opus',
          key,
          batchId: row.batchId,
          audioFileId: row.id,
          detail: `${key} belongs to audio row ${row.id}, which names no Opus key`,
          repair: 'record the key on its row',
          repairable: true,
        });
      } else {
        finding({
          kind: 'orphan_opus',
          key,
          batchId: null,
          audioFileId: null,
          detail: `${key}: no audio row names it`,
          ...quarantine(old(object), graceMs),
        });
      }
    }
    // Archives and batches.
    const batchArchives = new Set(batches.map((b) => b.archiveKey));
    for (const [key, object] of archiveObjects) {
      if (batchArchives.has(key)) continue;
      finding({
        kind: 'orphan_archive',
        key,
        batchId: null,
        audioFileId: null,
        detail: `${key}: no batch names it`,
        ...quarantine(old(object), graceMs),
      });
    }
    let completeWithoutArchive = 0;
    for (const b of batches) {
      if (archiveObjects.has(b.archiveKey)) continue;
      if (b.status === 'complete') {
        completeWithoutArchive += 1;
        continue;
      }
      finding({
        kind: 'missing_archive',
        key: b.archiveKey,
        batchId: b.batchId,
        audioFileId: null,
        detail: `batch ${b.batchId} (${b.status}) names ${b.archiveKey}, which is not in the bucket; it cannot be replayed`,
        ...(b.status === 'transferred'
          ? { repair: 'mark the batch failed (archive_missing): it can never be unpacked', repairable: true }
          : {
              repair:
                b.status === 'failed'
                  ? 'none: the batch is failed already'
                  : `none: a ${b.status} batch may still finish from a host's scratch`,
              repairable: false,
            }),
      });
    }
    // Open leases on files without playable audio.
    const missingAudio = new Set(
      findings.filter((f) => f.kind === 'missing_opus').map((f) => f.audioFileId!),
    );
    const open = await prisma.raAssignment.findMany({
      where: { status: 'open' },
      select: { id: true, audioFileId: true, audioFile: { select: { batchId: true, s3OpusPath: true } } },
    });
    for (const a of open) {
      if (a.audioFile.s3OpusPath !== null && !missingAudio.has(a.audioFileId)) continue;
      finding({
        kind: 'assignment_on_missing_audio',
        key: a.audioFile.s3OpusPath,
        batchId: a.audioFile.batchId,
        audioFileId: a.audioFileId,
        detail: `open assignment ${a.id} is on audio file ${a.audioFileId}, which has no Opus copy to play`,
        repair: 'release the assignment',
        repairable: true,
      });
    }

    const refusals: string[] = [];
    if (options.repair) {
      const moves = findings.filter(
        (f) => f.repairable && f.key && f.audioFileId === null && f.kind.startsWith('orphan'),
      );
      const listed = opusObjects.size + archiveObjects.size;
      const refuseMoves = !options.force && moves.length > 10 && moves.length * 2 > listed;
      if (refuseMoves) {
        refusals.push(
          `${moves.length} of ${listed} objects have no row: that looks like the wrong DATABASE_URL or S3_BUCKET, not drift; ` +
            'no orphan was moved (--force moves them to orphaned/ anyway)',
        );
      }
      for (const f of findings) {
        if (!f.repairable || (refuseMoves && moves.includes(f))) continue;
        await this.repair(f);
        f.repaired = true;
      }
    }

    const totals = Object.fromEntries(INCONSISTENCY_KINDS.map((k) => [k, 0])) as Record<
      InconsistencyKind,
      number
    >;
    for (const f of findings) totals[f.kind] += 1;
    const report: AuditReport = {
      checkedAt: new Date(started).toISOString(),
      durationMs: Date.now() - started,
      repair: Boolean(options.repair),
      counted: {
        audioRowsWithOpusKey: keyed.size,
        opusObjects: opusObjects.size,
        batches: batches.length,
        archiveObjects: archiveObjects.size,
        completeWithoutArchive,
        openAssignments: open.length,
      },
      totals,
      findings,
      refusals,
    };
    this.deps.logger?.info(
      { totals, repaired: findings.filter((f) => f.repaired).length, refusals },
      'storage audit done',
    );
    return report;
  }

  private async repair(f: Finding): Promise<void> {
    const { prisma } = this.deps.db;
    switch (f.kind) {
      case 'missing_opus':
        // Only while it still names the missing key: a replay may have written it again meanwhile.
        await prisma.audioFile.updateMany({
          where: { id: f.audioFileId!, s3OpusPath: f.key },
          data: { s3OpusPath: null },
        });
        return;
      case 'orphan_opus':
        if (f.audioFileId) {
          await prisma.audioFile.updateMany({
            where: { id: f.audioFileId, s3OpusPath: null },
            data: { s3OpusPath: f.key },
          });
          return;
        }
        await this.moveToQuarantine(f.key!);
        return;
      case 'orphan_archive':
        await this.moveToQuarantine(f.key!);
        return;
      case 'missing_archive':
        await new BatchRepository(this.deps.db).markFailed(f.batchId!, {
          code: 'archive_missing',
          message: `the archive ${f.key} is not in the bucket (storage audit)`,
        });
        return;
      case 'assignment_on_missing_audio':
        await prisma.raAssignment.updateMany({
          where: { audioFileId: f.audioFileId!, status: 'open' },
          data: { status: 'released', closedAt: new Date() },
        });
        return;
    }
  }

  /** Copy, then delete: an interrupted move leaves a copy, never nothing. */
  private async moveToQuarantine(key: string): Promise<void> {
    await this.deps.store.copy(key, `${QUARANTINE_PREFIX}${key}`);
    await this.deps.store.delete(key);
  }

  private async listing(prefix: string): Promise<Map<string, { lastModified?: Date }>> {
    const objects = new Map<string, { lastModified?: Date }>();
    for await (const o of this.deps.store.listAll(prefix)) {
      objects.set(o.key, o.lastModified ? { lastModified: o.lastModified } : {});
    }
    return objects;
  }

  /** Every audio row's id, batch and Opus key, a page at a time (keyset on id). */
  private async audioRows(): Promise<{ id: string; batchId: string; key: string | null }[]> {
    const rows: { id: string; batchId: string; key: string | null }[] = [];
    let after: string | undefined;
    for (;;) {
      const page = await this.deps.db.prisma.audioFile.findMany({
        select: { id: true, batchId: true, s3OpusPath: true },
        orderBy: { id: 'asc' },
        take: ROW_PAGE,
        ...(after ? { cursor: { id: after }, skip: 1 } : {}),
      });
      rows.push(...page.map((r) => ({ id: r.id, batchId: r.batchId, key: r.s3OpusPath })));
      if (page.length < ROW_PAGE) return rows;
      after = page[page.length - 1]!.id;
    }
  }
}

function quarantine(old: boolean, graceMs: number): Pick<Finding, 'repair' | 'repairable'> {
  return old
    ? { repair: `move it to ${QUARANTINE_PREFIX} (copy, then delete)`, repairable: true }
    : {
        repair: `none yet: younger than the grace period (${Math.round(graceMs / 3_600_000)} h), it may be an upload in progress`,
        repairable: false,
      };
}

/** The report for people: totals, then one line per finding with its repair. */
export function formatAuditReport(report: AuditReport): string {
  const lines = [
    `storage audit ${report.checkedAt} (${report.durationMs} ms)${report.repair ? ', with --repair' : ''}`,
    `  checked: ${report.counted.audioRowsWithOpusKey} audio rows with an Opus key, ${report.counted.opusObjects} Opus objects, ` +
      `${report.counted.batches} batches, ${report.counted.archiveObjects} archives, ${report.counted.openAssignments} open assignments` +
      (report.counted.completeWithoutArchive
        ? ` (${report.counted.completeWithoutArchive} complete batches without archive: deleted after completion, fine)`
        : ''),
  ];
  for (const kind of INCONSISTENCY_KINDS) lines.push(`  ${kind}: ${report.totals[kind]}`);
  for (const f of report.findings) {
    const done = report.repair ? (f.repaired ? 'repaired: ' : 'not repaired: ') : 'repair would: ';
    lines.push(`- ${f.kind}: ${f.detail}\n    ${f.repairable || report.repair ? done : ''}${f.repair}`);
  }
  for (const r of report.refusals) lines.push(`REFUSED: ${r}`);
  if (report.findings.length === 0) lines.push('  the database and the bucket agree');
  return `${lines.join('\n')}\n`;
}

/**
 * The audit as a janitor in the transfer service (STORAGE_AUDIT_INTERVAL): one run every `intervalMs`,
 * a warning naming the totals when the database and the bucket disagree, the safe repairs when
 * `repair`. Several transfer processes may run it at once: every repair is conditional and idempotent.
 */
export class StorageAuditJanitor {
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly audit: StorageAudit,
    private readonly options: { intervalMs: number; repair: boolean; logger?: Logger },
  ) {}

  async runOnce(): Promise<AuditReport> {
    const report = await this.audit.run({ repair: this.options.repair });
    const left = report.findings.filter((f) => !f.repaired).length;
    if (left > 0 || report.refusals.length > 0) {
      this.options.logger?.warn(
        { totals: report.totals, unrepaired: left, refusals: report.refusals },
        'storage audit: the database and the bucket disagree (pnpm audit:storage lists the findings)',
      );
    }
    return report;
  }

  start(): void {
    const tick = () =>
      void this.runOnce().catch((err: unknown) => this.options.logger?.warn({ err }, 'storage audit failed'));
    this.timer = setInterval(tick, this.options.intervalMs);
    this.timer.unref();
    tick();
  }

  stop(): void {
    clearInterval(this.timer);
  }
}
