import { Router } from 'express';
import { z } from 'zod';
import {
  AudioFileRepository,
  MonitoringQueries,
  ReviewerRepository,
  type Db,
  type RaQueueItem,
} from '@audio/db';
import type { Logger } from '@audio/logger';
import type { ObjectStore } from '@audio/storage';
import { requirePermission } from '../auth/access-control.js';
import type { CsrfProtection } from '../auth/csrf-protection.js';
import { formatDuration, formatTime } from '../views/display-format.js';
import { html, type SafeHtml } from '../views/html-template.js';
import { renderPage } from '../views/page-layout.js';

/** The codebook a research assistant answers for each flagged item. */
export const CODEBOOK = {
  violatesPolicy: ['yes', 'no', 'unsure'],
  category: ['threat', 'violence', 'harassment', 'hate', 'self-harm', 'sexual', 'other', 'none'],
} as const;

const labelForm = z.object({
  violatesPolicy: z.enum(CODEBOOK.violatesPolicy, 'answer "violates policy?" with yes, no or unsure'),
  category: z.enum(CODEBOOK.category, `category must be one of ${CODEBOOK.category.join(', ')}`),
  notes: z.string().max(4000, 'notes must be at most 4000 characters').optional(),
});

export interface ReviewRoutesOptions {
  db: Db;
  store: ObjectStore;
  csrf: CsrfProtection;
  leaseMs: number;
  audioUrlTtlSeconds: number;
  logger: Logger;
}

/**
 * GET /review leases the next flagged item to the reviewer (or shows the one they hold) with its
 * transcript and audio; POST /review/:audioFileId saves the codebook answers and moves on.
 */
export function createReviewRoutes(options: ReviewRoutesOptions): Router {
  const router = Router();
  const reviewers = new ReviewerRepository(options.db);
  const files = new AudioFileRepository(options.db);
  const monitoring = new MonitoringQueries(options.db);
  const { csrf, store } = options;
  const allowed = requirePermission('review', 'page');

  router.get('/review', allowed, async (req, res) => {
    const user = res.locals.user!;
    const item = await reviewers.claimNext(user.id, { leaseMs: options.leaseMs });
    let body: SafeHtml;
    if (!item) {
      const waiting = await monitoring.flaggedWaiting();
      body = html`<h1>Review</h1>
        <p class="notice">
          Nothing is waiting for you right now.
          ${
            waiting.waiting > 0
              ? html`${waiting.waiting} flagged items are in the queue (${waiting.assigned} held by other
                reviewers, ${waiting.withoutOpusKey} still without audio).`
              : ''
          }
        </p>
        <p><a href="/review">Check again</a></p>`;
    } else {
      const audioUrl = item.s3OpusPath
        ? await store.presignGet(item.s3OpusPath, options.audioUrlTtlSeconds)
        : null;
      const saved = req.query.saved === '1';
      body = reviewBody(item, audioUrl, csrf.token(req), saved);
    }
    res.send(renderPage({ title: 'Review', section: 'review', user, csrfToken: csrf.token(req), body }));
  });

  router.post('/review/:audioFileId', allowed, csrf.protect, async (req, res) => {
    const user = res.locals.user!;
    const audioFileId = String(req.params.audioFileId);
    const form = labelForm.safeParse(req.body);
    if (!form.success) {
      return res.status(400).send(
        renderPage({
          title: 'Review',
          section: 'review',
          user,
          csrfToken: csrf.token(req),
          body: html`<h1>Review</h1>
            <p class="error">${form.error.issues[0]!.message}</p>
            <p><a href="/review">Back to the item</a></p>`,
        }),
      );
    }
    if (!(await files.get(audioFileId))) {
      return res.status(404).type('text/plain').send(`no audio file ${audioFileId}\n`);
    }
    const { notes, ...answers } = form.data;
    await reviewers.submitLabel({ audioFileId, reviewerId: user.id, answers, notes: notes?.trim() || null });
    options.logger.info({ audioFileId, reviewer: user.username, answers }, 'label saved');
    res.redirect(303, '/review?saved=1');
  });

  return router;
}

function reviewBody(item: RaQueueItem, audioUrl: string | null, csrfToken: string, saved: boolean): SafeHtml {
  return html`<h1>Review</h1>
    ${saved ? html`<p class="notice">Saved. Here is the next item.</p>` : ''}
    <div class="cards">
      <div class="card">
        <div class="label">Score</div>
        <div class="value">${item.score.toFixed(2)}</div>
      </div>
      <div class="card">
        <div class="label">Policies</div>
        <div class="value" style="font-size:14px">${item.policyIds.join(', ')}</div>
      </div>
      <div class="card">
        <div class="label">Batch</div>
        <div class="value mono" style="font-size:13px">${item.batchId}</div>
      </div>
      <div class="card">
        <div class="label">Flagged</div>
        <div class="value" style="font-size:14px">${formatTime(item.flaggedAt)}</div>
      </div>
    </div>
    <h2>
      ${item.originalFilename}
      <span class="muted"
        >${item.language ?? ''}
        ${item.durationSeconds ? formatDuration(item.durationSeconds * 1000) : ''}</span
      >
    </h2>
    ${
      audioUrl
        ? html`<audio controls preload="metadata" src="${audioUrl}" style="width:100%"></audio>`
        : html`<p class="muted">No audio copy yet.</p>`
    }
    <h2>Transcript</h2>
    <div class="transcript">${item.transcript ?? '(no transcript)'}</div>
    <h2>Codebook</h2>
    <form method="post" action="/review/${item.audioFileId}" class="stack">
      <input type="hidden" name="_csrf" value="${csrfToken}" />
      <fieldset>
        <legend>Violates the policy?</legend>
        ${CODEBOOK.violatesPolicy.map(
          (v) => html`<label><input type="radio" name="violatesPolicy" value="${v}" required /> ${v}</label>`,
        )}
      </fieldset>
      <label
        >Category
        <select name="category" required>
          <option value="">choose…</option>
          ${CODEBOOK.category.map((c) => html`<option value="${c}">${c}</option>`)}
        </select></label
      >
      <label>Notes <textarea name="notes" rows="3" maxlength="4000"></textarea></label>
      <div><button type="submit" class="primary">Save and next</button></div>
    </form>`;
}
