import { Router } from 'express';
import { requirePermission } from '../auth/access-control.js';
import type { BatchOverview } from '../operations/batch-overview.js';
import { batchListQuery, listFilter } from '../operations/batch-list-query.js';

/** GET /api/batches and /api/batches/:batchId: what the batch pages show, as JSON. */
export function createBatchApi(overview: BatchOverview): Router {
  const router = Router();
  const api = requirePermission('operations:read', 'api');

  router.get('/api/batches', api, async (req, res) => {
    const query = batchListQuery.safeParse(req.query);
    if (!query.success)
      return res.status(400).json({ error: `bad query: ${query.error.issues[0]!.message}` });
    const { limit, offset } = query.data;
    res.json({ batches: await overview.list({ ...listFilter(query.data), limit, offset }) });
  });

  router.get('/api/batches/:batchId', api, async (req, res) => {
    const detail = await overview.detail(String(req.params.batchId));
    if (!detail) return res.status(404).json({ error: `no batch ${req.params.batchId}` });
    res.json(detail);
  });

  return router;
}
