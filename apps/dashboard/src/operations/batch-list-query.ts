import { z } from 'zod';
import type { BatchListFilter } from '@audio/db';

export const BATCH_STATUSES = ['transferred', 'unpacking', 'unpacked', 'complete', 'failed'] as const;
const PAGE_SIZE = 50;
const DAY_MS = 86_400_000;
/** `?failed=` windows: batches that failed, or have files that failed, within it. */
export const FAILED_WINDOWS = { '24h': DAY_MS, '7d': 7 * DAY_MS } as const;

// An empty form field (`?q=&from=`) means "not set".
const blank = (v: unknown) => (v === '' ? undefined : v);
const day = z.preprocess(blank, z.iso.date({ error: 'must be a date YYYY-MM-DD' }).optional());

/** `?status=&q=&from=&to=&failed=&limit=&offset=` of the batch list, as a page and as JSON. */
export const batchListQuery = z.object({
  status: z.preprocess(blank, z.enum(BATCH_STATUSES).optional()),
  /** Part of a batch id or a source. */
  q: z.preprocess(blank, z.string().trim().max(200).optional()),
  /** Transferred on or after this day (UTC). */
  from: day,
  /** Transferred on or before this day (UTC). */
  to: day,
  failed: z.preprocess(blank, z.enum(Object.keys(FAILED_WINDOWS) as ['24h', '7d']).optional()),
  limit: z.coerce.number().int().min(1).max(500).default(PAGE_SIZE),
  offset: z.coerce.number().int().min(0).default(0),
});
export type BatchListQuery = z.output<typeof batchListQuery>;

/** The repository's filter for a parsed query. */
export function listFilter(query: BatchListQuery): BatchListFilter {
  return {
    status: query.status,
    search: query.q,
    transferredFrom: query.from ? new Date(`${query.from}T00:00:00Z`) : undefined,
    transferredBefore: query.to ? new Date(Date.parse(`${query.to}T00:00:00Z`) + DAY_MS) : undefined,
    failedWithinMs: query.failed ? FAILED_WINDOWS[query.failed] : undefined,
  };
}
