import { fileURLToPath } from 'node:url';
import { Router, type Request, type Response } from 'express';
import { z } from 'zod';
import {
  LeaseNotHeldError,
  NothingToUndoError,
  ReviewerRepository,
  ReviewRepository,
  type Db,
  type ResumeRefusal,
  type ReviewItem,
} from '@audio/db';
import type { Logger } from '@audio/logger';
import type { ObjectStore } from '@audio/storage';
import { requirePermission, type CurrentUser } from '../auth/access-control.js';
import { can } from '../auth/roles.js';
import type { CsrfProtection } from '../auth/csrf-protection.js';
import { html } from '../views/html-template.js';
import { renderPage } from '../views/page-layout.js';
import {
  CATEGORY_ASKED_FOR,
  CATEGORY_REQUIRED_FOR,
  CODEBOOK,
  itemPageBody,
  SKIP_REASONS,
  startPageBody,
  type FormAnswers,
  type ReviewSidebar,
} from './review-page.js';
import { opusAudioLink } from './opus-audio-link.js';
import { createPolicyLookup } from './review-policy.js';

export { CODEBOOK } from './review-page.js';

/** The page's script: shortcuts, seeking, speed, audio errors, the draft of the answers. */
const PAGE_SCRIPT = fileURLToPath(new URL('../../assets/review-page.js', import.meta.url));

const labelForm = z
  .object({
    violatesPolicy: z.enum(CODEBOOK.violatesPolicy, 'answer "violates the policy?" with yes, no or unsure'),
    category: z.string().optional(),
    notes: z.string().max(4000, 'notes must be at most 4000 characters').optional(),
  })
  .transform((form, ctx) => {
    const asked = (CATEGORY_ASKED_FOR as readonly string[]).includes(form.violatesPolicy);
    const category = asked && form.category ? form.category : undefined;
    if (category !== undefined && !(CODEBOOK.category as readonly string[]).includes(category)) {
      ctx.addIssue({ code: 'custom', message: `category must be one of ${CODEBOOK.category.join(', ')}` });
      return z.NEVER;
    }
    if (!category && (CATEGORY_REQUIRED_FOR as readonly string[]).includes(form.violatesPolicy)) {
      ctx.addIssue({ code: 'custom', message: 'choose a category: the answer says the policy is violated' });
      return z.NEVER;
    }
    // A category is stored only where the answer says it applies.
    return {
      answers: { violatesPolicy: form.violatesPolicy, ...(category ? { category } : {}) },
      notes: form.notes?.trim() || null,
    };
  });

const skipForm = z.object({
  reason: z.enum(SKIP_REASONS, `the reason must be one of: ${SKIP_REASONS.join('; ')}`),
  details: z.string().max(400, 'details must be at most 400 characters').optional(),
});

declare module 'express-session' {
  interface SessionData {
    /** The answers of a label just undone, to fill the form once. */
    undoneLabel?: { audioFileId: string; answers: FormAnswers };
  }
}

export interface ReviewRoutesOptions {
  db: Db;
  store: ObjectStore;
  csrf: CsrfProtection;
  leaseMs: number;
  audioUrlTtlSeconds: number;
  /** "Done today" counts from midnight here (the team's NOON_TIME_ZONE). */
  timeZone: string;
  /** The policy file whose text the page shows (see createPolicyLookup). */
  policyFile: string;
  logger: Logger;
}

const REFUSALS: Record<ResumeRefusal, string> = {
  'held-by-another': 'your lease on this item ran out and another reviewer holds it now',
  reviewed: 'your lease on this item ran out and another reviewer has labelled it',
  'never-held': 'you do not hold this item (it was never leased to you)',
  'not-in-queue': 'you do not hold this item: it is not in the review queue',
};

/**
 * The research assistants' page. GET /review shows the item the user holds, or (reviewers only) leases
 * the next one; staff lease only when they ask (POST /review/claim). GET /review/:id goes back to an
 * item (after a login, from a stale page). POST /review/:id saves the answers while the lease holds,
 * POST /review/:id/skip passes an item on with a reason, POST /review/undo takes back the last label.
 */
export function createReviewRoutes(options: ReviewRoutesOptions): Router {
  const router = Router();
  const reviewers = new ReviewerRepository(options.db);
  const review = new ReviewRepository(options.db);
  const activePolicy = createPolicyLookup(options.policyFile);
  const { csrf, store, logger, leaseMs } = options;
  const allowed = requirePermission('review', 'page');

  const sidebar = async (req: Request, user: CurrentUser): Promise<ReviewSidebar> => {
    const [progress, recent, undoable] = await Promise.all([
      review.progress(user.id, options.timeZone),
      review.recentLabels(user.id),
      review.lastUndoable(user.id),
    ]);
    return { progress, recent, undoable, csrfToken: csrf.token(req) };
  };

  const send = (req: Request, res: Response, status: number, body: ReturnType<typeof html>) => {
    const user = res.locals.user!;
    res
      .status(status)
      .send(renderPage({ title: 'Review', section: 'review', user, csrfToken: csrf.token(req), body }));
  };

  const audioOf = (item: ReviewItem) =>
    opusAudioLink({ store, ttlSeconds: options.audioUrlTtlSeconds, logger }, item);

  const showItem = async (
    req: Request,
    res: Response,
    item: ReviewItem,
    extra: { status?: number; answers?: FormAnswers; error?: string; notice?: string } = {},
  ) => {
    const [audio, policy, side] = await Promise.all([
      audioOf(item),
      activePolicy(),
      sidebar(req, res.locals.user!),
    ]);
    const staffLinks = can(res.locals.user!.role, 'operations:read');
    send(req, res, extra.status ?? 200, itemPageBody({ ...side, item, audio, policy, staffLinks, ...extra }));
  };

  const showStart = async (
    req: Request,
    res: Response,
    page: { status?: number; message: string; alert?: boolean; notice?: string | undefined },
  ) => {
    const user = res.locals.user!;
    const side = await sidebar(req, user);
    send(
      req,
      res,
      page.status ?? 200,
      startPageBody({
        ...side,
        message: page.message,
        alert: page.alert ?? false,
        notice: page.notice,
        offerStart: user.role !== 'reviewer' && side.progress.waiting > 0,
      }),
    );
  };

  /** Where to go after a label or a skip: the next item, leased now (the user is working through the queue). */
  const next = async (res: Response, query: string) => {
    const item = await reviewers.claimNext(res.locals.user!.id, { leaseMs });
    res.redirect(303, item ? `/review/${item.audioFileId}?${query}` : `/review?${query}`);
  };

  const noticeOf = (req: Request): string | undefined => {
    if (req.query.saved) return 'Saved.';
    if (req.query.skipped) return 'Skipped; it will not be offered to you again.';
    if (req.query.undone) return 'Label taken back: correct the answers and save again.';
    return undefined;
  };

  router.get('/review/assets/review-page.js', (_req, res) => {
    res.type('application/javascript').set('Cache-Control', 'no-cache').sendFile(PAGE_SCRIPT);
  });

  router.get('/review', allowed, async (req, res) => {
    const user = res.locals.user!;
    const held = await review.heldBy(user.id);
    // Reviewers come here to label; staff only look unless they press "Start reviewing".
    const item =
      held ??
      (user.role === 'reviewer' ? (await reviewers.claimNext(user.id, { leaseMs }))?.audioFileId : null);
    const query = new URLSearchParams(req.query as Record<string, string>).toString();
    if (item) return res.redirect(303, `/review/${item}${query ? `?${query}` : ''}`);
    const waiting = (await review.progress(user.id, options.timeZone)).waiting;
    await showStart(req, res, {
      notice: noticeOf(req),
      message:
        user.role === 'reviewer' || waiting === 0
          ? 'Nothing is waiting for you right now.'
          : `${waiting} items are waiting. Opening this page leases nothing; start when you mean to review.`,
    });
  });

  router.post('/review/claim', allowed, csrf.protect, async (_req, res) => {
    await next(res, 'claimed=1');
  });

  router.post('/review/undo', allowed, csrf.protect, async (req, res) => {
    const user = res.locals.user!;
    try {
      const undone = await review.undoLast(user.id);
      req.session.undoneLabel = {
        audioFileId: undone.audioFileId,
        answers: {
          violatesPolicy: String(undone.answers.violatesPolicy ?? ''),
          category: typeof undone.answers.category === 'string' ? undone.answers.category : undefined,
          notes: undone.notes ?? undefined,
        },
      };
      logger.info({ audioFileId: undone.audioFileId, reviewer: user.username }, 'label undone');
      res.redirect(303, `/review/${undone.audioFileId}?undone=1`);
    } catch (error) {
      if (!(error instanceof NothingToUndoError)) throw error;
      await showStart(req, res, { status: 409, alert: true, message: `Cannot undo: ${error.message}.` });
    }
  });

  router.get('/review/:audioFileId', allowed, async (req, res) => {
    const user = res.locals.user!;
    const audioFileId = String(req.params.audioFileId);
    const resumed = await review.resume(audioFileId, user.id, { leaseMs });
    if (!resumed.item) {
      return showStart(req, res, {
        status: resumed.reason === 'not-in-queue' ? 404 : 409,
        alert: true,
        message: `This item is not yours to label: ${REFUSALS[resumed.reason]}.`,
      });
    }
    const undone = req.session.undoneLabel;
    if (undone) delete req.session.undoneLabel;
    await showItem(req, res, resumed.item, {
      notice: noticeOf(req),
      ...(undone?.audioFileId === audioFileId ? { answers: undone.answers } : {}),
    });
  });

  router.post('/review/:audioFileId', allowed, csrf.protect, async (req, res) => {
    const user = res.locals.user!;
    const audioFileId = String(req.params.audioFileId);
    const body = req.body as Record<string, unknown>;
    const answers: FormAnswers = {
      violatesPolicy: typeof body.violatesPolicy === 'string' ? body.violatesPolicy : undefined,
      category: typeof body.category === 'string' ? body.category : undefined,
      notes: typeof body.notes === 'string' ? body.notes : undefined,
    };
    const form = labelForm.safeParse(body);
    // A stale page or a label for a file never held: nothing is saved, the answers come back with why.
    const refuse = async (reason: ResumeRefusal) => {
      const item = await review.heldItem(audioFileId, user.id);
      const message = `Nothing was saved: ${REFUSALS[reason]}. Your answers are kept below.`;
      if (item) return showItem(req, res, item, { status: 409, answers, error: message });
      logger.info({ audioFileId, reviewer: user.username, reason }, 'label refused: no lease');
      await sendStale(req, res, audioFileId, answers, message);
    };
    if (!form.success) {
      const item = await review.heldItem(audioFileId, user.id);
      if (!item) return refuse('never-held');
      return showItem(req, res, item, { status: 400, answers, error: form.error.issues[0]!.message });
    }
    const label = { audioFileId, reviewerId: user.id, ...form.data };
    try {
      await reviewers.submitLabel(label);
    } catch (error) {
      if (!(error instanceof LeaseNotHeldError)) throw error;
      // The lease ran out but nobody else took the item: it is this reviewer's again, and the label stands.
      const resumed = await review.resume(audioFileId, user.id, { leaseMs });
      if (!resumed.item) return refuse(resumed.reason);
      await reviewers.submitLabel(label);
    }
    logger.info({ audioFileId, reviewer: user.username, answers: form.data.answers }, 'label saved');
    await next(res, `saved=${audioFileId}`);
  });

  router.post('/review/:audioFileId/skip', allowed, csrf.protect, async (req, res) => {
    const user = res.locals.user!;
    const audioFileId = String(req.params.audioFileId);
    const form = skipForm.safeParse(req.body);
    if (!form.success) {
      return showStart(req, res, { status: 400, alert: true, message: form.error.issues[0]!.message });
    }
    const details = form.data.details?.trim();
    try {
      await review.skip(audioFileId, user.id, details ? `${form.data.reason}: ${details}` : form.data.reason);
    } catch (error) {
      if (!(error instanceof LeaseNotHeldError)) throw error;
      return showStart(req, res, { status: 404, alert: true, message: `No audio file ${audioFileId}.` });
    }
    logger.info({ audioFileId, reviewer: user.username, reason: form.data.reason }, 'item skipped');
    await next(res, `skipped=${audioFileId}`);
  });

  /** The stale page's answers, back in a form the reviewer can copy from or send again. */
  const sendStale = async (
    req: Request,
    res: Response,
    audioFileId: string,
    answers: FormAnswers,
    message: string,
  ) => {
    const side = await sidebar(req, res.locals.user!);
    send(req, res, 409, staleBody(audioFileId, answers, message, side));
  };

  return router;
}

function staleBody(audioFileId: string, answers: FormAnswers, message: string, side: ReviewSidebar) {
  return html`<h1>Review</h1>
    <div class="problems" role="alert">${message}</div>
    <form
      method="post"
      action="/review/${audioFileId}"
      class="stack"
      id="label-form"
      data-item="${audioFileId}"
    >
      <input type="hidden" name="_csrf" value="${side.csrfToken}" />
      <fieldset>
        <legend>Your answers (not saved)</legend>
        ${CODEBOOK.violatesPolicy.map(
          (v) =>
            html`<label
              ><input
                type="radio"
                name="violatesPolicy"
                value="${v}"
                ${answers.violatesPolicy === v ? html`checked` : ''}
              />
              ${v}</label
            >`,
        )}
      </fieldset>
      <label
        >Category
        <select name="category">
          <option value="">–</option>
          ${CODEBOOK.category.map(
            (c) => html`<option value="${c}" ${answers.category === c ? html`selected` : ''}>${c}</option>`,
          )}
        </select></label
      >
      <label>Notes <textarea name="notes" rows="3">${answers.notes ?? ''}</textarea></label>
      <div>
        <button type="submit" class="primary">Send again</button> <a href="/review">Take the next item</a>
      </div>
    </form>`;
}
