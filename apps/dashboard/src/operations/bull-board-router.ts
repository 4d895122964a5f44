import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { ExpressAdapter } from '@bull-board/express';
import { Router, type Express, type RequestHandler } from 'express';
import type { Queue } from 'bullmq';
import { parseHostQueueName } from '@audio/queues';
import { requirePermission } from '../auth/access-control.js';
import { requireSameOrigin } from '../auth/csrf-protection.js';
import { can } from '../auth/roles.js';
import type { QueueRegistry } from './queue-registry.js';

export const BOARD_PATH = '/board';

/**
 * Bull Board over every known queue, twice: a writable board for admin and ops, and a read-only one
 * (Bull Board's `readOnlyMode`, which hides the buttons and answers 405 on its write routes) for
 * viewers. Both live at the same path; the user's role picks one per request. Writes under `/api` are
 * also refused here for anyone without `board:write`, and accepted only from our own origin.
 */
export function createBullBoardRouter(queues: QueueRegistry): Router {
  const writable = boardFor(queues, false);
  const readOnly = boardFor(queues, true);
  const router = Router();
  const forApi = requirePermission('operations:read', 'api');
  const forPage = requirePermission('operations:read', 'page');
  router.use((req, res, next) => (req.path.startsWith('/api/') ? forApi : forPage)(req, res, next));
  router.use((req, res, next) => {
    const unsafe = !['GET', 'HEAD', 'OPTIONS'].includes(req.method);
    if (unsafe && !can(res.locals.user!.role, 'board:write')) {
      res.status(403).json({ error: `the ${res.locals.user!.role} role may not change jobs or queues` });
      return;
    }
    next();
  });
  router.use(requireSameOrigin());
  router.use((req, res, next) =>
    (can(res.locals.user!.role, 'board:write') ? writable : readOnly)(req, res, next),
  );
  return router;
}

function boardFor(queues: QueueRegistry, readOnlyMode: boolean): RequestHandler {
  const serverAdapter = new ExpressAdapter();
  serverAdapter.setBasePath(BOARD_PATH);
  const board = createBullBoard({
    queues: [],
    serverAdapter,
    options: {
      uiConfig: {
        boardTitle: readOnlyMode ? 'Audio pipeline (read-only)' : 'Audio pipeline',
        miscLinks: [
          { text: 'Batches', url: '/batches' },
          { text: 'Health', url: '/status' },
          { text: 'Log out', url: '/logout' },
        ],
        hideDocsLink: true,
      },
    },
  });
  queues.onQueueAdded((queue) => board.addQueue(adapterFor(queue, readOnlyMode)));
  const app = serverAdapter.getRouter() as Express;
  app.disable('x-powered-by');
  return app;
}

/**
 * Per-file jobs (convert, transcribe) get no Retry button: their files live in the batch's scratch
 * directory, which finalize removes, so a retry after the batch finished could only fail again with
 * `scratch_missing`. The batch page's "Retry failed files" extracts them again from the archive in S3.
 */
function adapterFor(queue: Queue, readOnlyMode: boolean): BullMQAdapter {
  const host = parseHostQueueName(queue.name);
  const perFile = host?.kind === 'convert' || host?.kind === 'transcribe';
  return new BullMQAdapter(queue, {
    readOnlyMode,
    allowRetries: !readOnlyMode && !perFile,
    description: host
      ? `${host.kind} jobs of host ${host.hostId}${perFile ? ' · retry failed files from the batch page (/batches)' : ''}`
      : 'archives waiting for a host to unpack them',
  });
}
