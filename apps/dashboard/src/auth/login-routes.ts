import { Router, type Request, type Response } from 'express';
import { rateLimit } from 'express-rate-limit';
import type { Logger } from '@audio/logger';
import type { CsrfProtection } from './csrf-protection.js';
import { html } from '../views/html-template.js';
import { renderPage } from '../views/page-layout.js';
import { homePath } from './roles.js';
import { SESSION_COOKIE } from './session-middleware.js';
import type { UserAccounts } from './user-accounts.js';

export interface LoginRoutesOptions {
  accounts: UserAccounts;
  csrf: CsrfProtection;
  /** Failed attempts allowed per client address per window. */
  rateLimit: number;
  rateWindowMs: number;
  logger: Logger;
}

/** GET/POST /login and GET/POST /logout. */
export function createLoginRoutes(options: LoginRoutesOptions): Router {
  const router = Router();
  const { accounts, csrf, logger } = options;

  const render = (req: Request, res: Response, status: number, error?: string) => {
    const next = safeNext(
      typeof req.query.next === 'string' ? req.query.next : (req.body as { next?: string })?.next,
    );
    res.status(status).send(
      renderPage({
        title: 'Log in',
        body: html`<h1>Log in</h1>
          ${error ? html`<p class="error" role="alert">${error}</p>` : ''}
          <form method="post" action="/login" class="stack">
            <input type="hidden" name="_csrf" value="${csrf.token(req)}" />
            <input type="hidden" name="next" value="${next ?? ''}" />
            <label
              >Username <input type="text" name="username" autocomplete="username" required autofocus
            /></label>
            <label
              >Password <input type="password" name="password" autocomplete="current-password" required
            /></label>
            <div><button type="submit" class="primary">Log in</button></div>
          </form>`,
      }),
    );
  };

  const limiter = rateLimit({
    windowMs: options.rateWindowMs,
    limit: options.rateLimit,
    // Only failed attempts count: an operator who logs in often is never locked out.
    skipSuccessfulRequests: true,
    standardHeaders: 'draft-8',
    legacyHeaders: false,
    handler: (req, res) => {
      logger.warn({ ip: req.ip }, 'login rate limit reached');
      render(req, res, 429, 'Too many failed logins from this address; wait a few minutes and try again.');
    },
  });

  router.get('/login', (req, res) => {
    const user = res.locals.user;
    if (user) return res.redirect(303, safeNext(req.query.next as string | undefined) ?? homePath(user.role));
    render(req, res, 200);
  });

  router.post('/login', limiter, csrf.protect, async (req, res, next) => {
    const body = req.body as { username?: unknown; password?: unknown; next?: unknown };
    const username = typeof body.username === 'string' ? body.username.trim() : '';
    const password = typeof body.password === 'string' ? body.password : '';
    const user = await accounts.authenticate(username, password);
    if (!user) {
      logger.info({ username, ip: req.ip }, 'login failed');
      return render(req, res, 401, 'Wrong username or password.');
    }
    // A new session id at login: a session id planted before login (fixation) becomes useless.
    req.session.regenerate((error) => {
      if (error) return next(error);
      req.session.userId = user.id;
      csrf.token(req);
      req.session.save((saveError) => {
        if (saveError) return next(saveError);
        logger.info({ username: user.username, role: user.role }, 'login');
        res.redirect(
          303,
          safeNext(typeof body.next === 'string' ? body.next : undefined) ?? homePath(user.role),
        );
      });
    });
  });

  router.get('/logout', (req, res) => {
    res.send(
      renderPage({
        title: 'Log out',
        user: res.locals.user,
        csrfToken: csrf.token(req),
        body: html`<h1>Log out</h1>
          <form method="post" action="/logout">
            <input type="hidden" name="_csrf" value="${csrf.token(req)}" />
            <button type="submit" class="primary">Log out</button>
          </form>`,
      }),
    );
  });

  router.post('/logout', csrf.protect, (req, res, next) => {
    req.session.destroy((error) => {
      if (error) return next(error);
      res.clearCookie(SESSION_COOKIE);
      res.redirect(303, '/login');
    });
  });

  return router;
}

/** Only local paths: `next` must never send a user to another site after login (open redirect). */
function safeNext(next: string | undefined): string | undefined {
  if (!next || !next.startsWith('/') || next.startsWith('//') || next.startsWith('/\\')) return undefined;
  if (next.startsWith('/login') || next.startsWith('/logout')) return undefined;
  return next;
}
