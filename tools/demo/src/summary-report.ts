import type { BatchSummary } from './in-process-pipeline.js';

/** The demo's human-readable summary, one block per batch. */
export function formatSummary(batches: BatchSummary[], bucket: string): string {
  const lines: string[] = [];
  for (const b of batches) {
    lines.push(`Batch ${b.batchId}  ${b.archive}  → ${b.status.toUpperCase()}`);
    if (b.error) lines.push(`  batch failed: ${b.error.code}: ${b.error.message}`);
    lines.push(
      `  files ${b.files}: ${b.succeeded} succeeded, ${b.failed.length} failed, ${b.flagged} flagged`,
    );
    for (const f of b.failed) lines.push(`  ✗ ${f.entry}  [${f.stage}] ${f.reason}: ${f.message}`);
    for (const f of b.flaggedItems)
      lines.push(`  ⚑ ${f.entry}  (score ${f.score.toFixed(2)}) "${shorten(f.text, 100)}"`);
    const models = [...new Set([...b.models.transcribe, ...b.models.classify])];
    if (models.length > 0) lines.push(`  models ${models.join(', ')}`);
    lines.push(`  S3 s3://${bucket}/${b.s3.archive}; ${b.s3.processed.length} Opus object(s)`);
    const folders = [...new Set(b.s3.processed.map((k) => k.slice(0, k.lastIndexOf('/') + 1)))];
    for (const folder of folders) lines.push(`     s3://${bucket}/${folder}…`);
    lines.push(`  scratch ${b.scratchCleaned ? 'cleaned' : 'NOT cleaned'}`);
    lines.push('');
  }
  return lines.join('\n');
}

/** The `--json` line: the shape the pipeline issue fixes, plus a few extra fields. */
export function summaryJson(batches: BatchSummary[]): string {
  return JSON.stringify({
    batches: batches.map((b) => ({
      batchId: b.batchId,
      archive: b.archive,
      status: b.status,
      ...(b.error ? { error: b.error } : {}),
      files: b.files,
      succeeded: b.succeeded,
      failed: b.failed.map((f) => ({ entry: f.entry, reason: f.reason, stage: f.stage, message: f.message })),
      flagged: b.flagged,
      models: b.models,
      scratchCleaned: b.scratchCleaned,
      s3: b.s3,
    })),
  });
}

function shorten(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}
