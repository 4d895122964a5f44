import { z } from 'zod';

export const BATCH_STATUSES = ['transferred', 'unpacking', 'unpacked', 'complete', 'failed'] as const;
const PAGE_SIZE = 50;

/** `?status=&limit=&offset=` of the batch list, as a page and as JSON. */
export const batchListQuery = z.object({
  status: z.enum(BATCH_STATUSES).optional(),
  limit: z.coerce.number().int().min(1).max(500).default(PAGE_SIZE),
  offset: z.coerce.number().int().min(0).default(0),
});
