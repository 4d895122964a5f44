import { Router, type Response } from 'express';
import { BatchRepository, type Db } from '@audio/db';
import type { Logger } from '@audio/logger';
import { UNPACK_QUEUE, isBatchId } from '@audio/queues';
import { replayBatch, ReplayError } from '@audio/runtime';
import type { ObjectStore } from '@audio/storage';
import { requirePermission } from '../auth/access-control.js';
import type { CsrfProtection } from '../auth/csrf-protection.js';
import { html } from '../views/html-template.js';
import { errorPage, renderPage } from '../views/page-layout.js';
import type { QueueRegistry } from './queue-registry.js';

export interface BatchActionsDeps {
  db: Db;
  store: ObjectStore;
  queues: QueueRegistry;
  csrf: CsrfProtection;
  logger: Logger;
}

const ACTIONS = {
  replay: {
    title: 'Replay batch',
    explain:
      'The whole batch runs again from its archive in S3, on whichever host takes it. Results already recorded are kept (every write is idempotent); its first completion time stays.',
    failedFilesOnly: false,
  },
  'retry-failed': {
    title: 'Retry failed files',
    explain:
      "The files that failed are extracted again from the batch's archive in S3 (its scratch directory is gone) and run through convert and transcribe in a new run; the files that succeeded are left alone. Entries unpack refused are not retried: their bytes would be refused again.",
    failedFilesOnly: true,
  },
} as const;
type Action = keyof typeof ACTIONS;

/**
 * The operator's buttons on a batch page, for admin and ops: "Replay batch" and "Retry failed files",
 * each a confirmation page (GET) and a form post with the session's CSRF token (POST). Both run the
 * same replay as `pnpm transfer replay`.
 */
export function createBatchActions(deps: BatchActionsDeps): Router {
  const router = Router();
  const batches = new BatchRepository(deps.db);
  const allowed = requirePermission('board:write', 'page');

  for (const action of Object.keys(ACTIONS) as Action[]) {
    const spec = ACTIONS[action];
    router.get(`/batches/:batchId/${action}`, allowed, async (req, res) => {
      const batchId = String(req.params.batchId);
      const batch = isBatchId(batchId) ? await batches.get(batchId) : null;
      if (!batch) return notFound(res, batchId);
      const entries = spec.failedFilesOnly ? await batches.retryableFailedEntries(batchId) : [];
      res.send(
        renderPage({
          title: spec.title,
          section: 'batches',
          user: res.locals.user,
          csrfToken: deps.csrf.token(req),
          body: html`<p><a href="/batches/${batchId}">← batch ${batchId}</a></p>
            <h1>${spec.title} <span class="mono">${batchId}</span>?</h1>
            <p>${spec.explain}</p>
            ${
              spec.failedFilesOnly
                ? html`<p><strong>${entries.length}</strong> file${entries.length === 1 ? '' : 's'}:</p>
                    <ul class="mono">
                      ${entries.slice(0, 50).map((e) => html`<li>${e}</li>`)}
                      ${entries.length > 50 ? html`<li>… ${entries.length - 50} more</li>` : ''}
                    </ul>`
                : ''
            }
            <form method="post" action="/batches/${batchId}/${action}" class="confirm">
              <input type="hidden" name="_csrf" value="${deps.csrf.token(req)}" />
              <button type="submit" class="primary">${spec.title}</button>
              <a href="/batches/${batchId}">Cancel</a>
            </form>`,
        }),
      );
    });

    router.post(`/batches/:batchId/${action}`, allowed, deps.csrf.protect, async (req, res) => {
      const batchId = String(req.params.batchId);
      const unpackQueue = deps.queues.add(UNPACK_QUEUE)!;
      try {
        const result = await replayBatch(
          batchId,
          { batches, store: deps.store, unpackQueue, logger: deps.logger },
          { failedFilesOnly: spec.failedFilesOnly },
        );
        deps.logger.info(
          { batchId, action, jobId: result.jobId, user: res.locals.user!.username },
          'batch action from the dashboard',
        );
        res.redirect(303, `/batches/${batchId}?queued=${action}`);
      } catch (error) {
        if (!(error instanceof ReplayError)) throw error;
        res.status(409).send(
          errorPage({
            status: 409,
            message: error.message,
            user: res.locals.user,
            csrfToken: deps.csrf.token(req),
            back: { href: `/batches/${batchId}`, label: `Back to batch ${batchId}` },
          }),
        );
      }
    });
  }
  return router;
}

function notFound(res: Response, batchId: string): void {
  res.status(404).send(
    errorPage({
      status: 404,
      message: `There is no batch ${batchId}.`,
      user: res.locals.user,
      back: { href: '/batches', label: 'All batches' },
    }),
  );
}
