import { stringify, type Options } from 'csv-stringify/sync';
import { LABEL_EXPORT_COLUMNS, streamLabels, type Db, type PolicyKey } from '@audio/db';

export const LABEL_EXPORT_FORMATS = ['csv', 'jsonl'] as const;
export type LabelExportFormat = (typeof LABEL_EXPORT_FORMATS)[number];

export const CONTENT_TYPES: Record<LabelExportFormat, string> = {
  csv: 'text/csv; charset=utf-8',
  jsonl: 'application/x-ndjson; charset=utf-8',
};

const CSV_OPTIONS: Options = {
  columns: [...LABEL_EXPORT_COLUMNS],
  cast: {
    date: (value) => value.toISOString(),
    boolean: (value) => (value ? 'true' : 'false'),
    object: (value) => JSON.stringify(value),
  },
};

/**
 * The labels as text chunks in the format: CSV (a header row; answers as JSON in one cell; times in
 * ISO 8601; quoting by csv-stringify) or JSON lines (one object per label). Rows come from a cursor a
 * batch at a time; `stream.pipeline(Readable.from(this), out)` writes them with backpressure, so a
 * million labels take no more memory than a thousand.
 */
export async function* labelExportChunks(
  db: Db,
  format: LabelExportFormat,
  options: { policy?: PolicyKey; batchSize?: number } = {},
): AsyncGenerator<string> {
  if (format === 'csv') yield stringify([LABEL_EXPORT_COLUMNS]);
  for await (const row of streamLabels(db, options)) {
    yield format === 'csv' ? stringify([row], CSV_OPTIONS) : `${JSON.stringify(row)}\n`;
  }
}
