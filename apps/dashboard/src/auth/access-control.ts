import type { NextFunction, Request, RequestHandler, Response } from 'express';
import type { RaRole, ReviewerRepository } from '@audio/db';
import { can, type Permission } from './roles.js';
import { errorPage } from '../views/page-layout.js';

/** The logged-in user of a request, as loaded from `ra_users` on every request. */
export interface CurrentUser {
  id: string;
  username: string;
  role: RaRole;
}

declare module 'express-session' {
  interface SessionData {
    userId?: string;
  }
}

declare global {
  // eslint-disable-next-line @typescript-eslint/no-namespace
  namespace Express {
    interface Locals {
      user?: CurrentUser;
    }
  }
}

/**
 * Reads the session's user from the database on every request, so that a deactivated account or a
 * changed role takes effect at once, not when the session expires.
 */
export function loadCurrentUser(users: ReviewerRepository): RequestHandler {
  return async (req, res, next) => {
    const userId = req.session?.userId;
    if (!userId) return next();
    const user = await users.findById(userId);
    if (!user || !user.active) {
      delete req.session.userId;
      return next();
    }
    res.locals.user = { id: user.id, username: user.username, role: user.role };
    next();
  };
}

/** JSON callers (the API, Bull Board's XHR) get 401/403; browsers get the login page or a 403 page. */
export type Audience = 'page' | 'api';

export function requirePermission(permission: Permission, audience: Audience): RequestHandler {
  return (req: Request, res: Response, next: NextFunction) => {
    const user = res.locals.user;
    if (!user) {
      if (audience === 'api') {
        res.status(401).json({ error: 'login required' });
      } else {
        res.redirect(302, `/login?next=${encodeURIComponent(req.originalUrl)}`);
      }
      return;
    }
    if (!can(user.role, permission)) {
      const message = `the ${user.role} role may not do this (${permission})`;
      if (audience === 'api') res.status(403).json({ error: message });
      else
        res.status(403).send(
          errorPage({
            status: 403,
            message: `The ${user.role} role may not open this page (${permission}).`,
            user,
          }),
        );
      return;
    }
    next();
  };
}
