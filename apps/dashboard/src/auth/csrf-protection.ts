import type { Request, RequestHandler } from 'express';
import { csrfSync } from 'csrf-sync';

const UNSAFE = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

export interface CsrfProtection {
  /** Refuses unsafe requests without the session's token (form field `_csrf` or `x-csrf-token`). */
  protect: RequestHandler;
  /** The session's token, for a hidden form field. */
  token(req: Request): string;
}

/**
 * Our own forms use the synchronizer token pattern (csrf-sync: a random token in the server-side
 * session, echoed by every form).
 */
export function createCsrfProtection(): CsrfProtection {
  const { csrfSynchronisedProtection, generateToken } = csrfSync({
    getTokenFromRequest: (req) => {
      const fromBody = (req.body as { _csrf?: unknown } | undefined)?._csrf;
      return typeof fromBody === 'string' ? fromBody : req.get('x-csrf-token');
    },
  });
  return { protect: csrfSynchronisedProtection, token: (req) => generateToken(req) };
}

/**
 * Bull Board's own front-end cannot send our token, so its write API accepts only same-origin
 * requests: browsers send `Origin` (and `Sec-Fetch-Site`) on every cross-origin PUT/POST/PATCH/DELETE,
 * and a forged one from another site cannot pass this check (OWASP's "verifying origin with standard
 * headers"). The session cookie's SameSite=Lax is the second line.
 */
export function requireSameOrigin(): RequestHandler {
  return (req, res, next) => {
    if (!UNSAFE.has(req.method)) return next();
    const fetchSite = req.get('sec-fetch-site');
    if (fetchSite === 'same-origin') return next();
    const expected = `${req.protocol}://${req.get('host')}`;
    const origin = req.get('origin') ?? originOf(req.get('referer'));
    if (origin === expected && (fetchSite === undefined || fetchSite === 'none')) return next();
    res.status(403).json({
      error: `cross-origin request refused: Origin ${origin ?? '(none)'} is not ${expected}`,
    });
  };
}

function originOf(url: string | undefined): string | undefined {
  if (!url) return undefined;
  try {
    return new URL(url).origin;
  } catch {
    return undefined;
  }
}
