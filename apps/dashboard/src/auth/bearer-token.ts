import crypto from 'node:crypto';
import type { RequestHandler } from 'express';

/**
 * `/health` and `/metrics` are for machines (Prometheus, cron, Ansible) and carry no session. With a
 * token configured they need `Authorization: Bearer <token>`; without one they are open, for a
 * dashboard that listens on a private network only.
 */
export function requireBearerToken(token: string | null): RequestHandler {
  if (!token) return (_req, _res, next) => next();
  const expected = crypto.createHash('sha256').update(token).digest();
  return (req, res, next) => {
    const given = /^Bearer\s+(.+)$/i.exec(req.get('authorization') ?? '')?.[1] ?? '';
    const actual = crypto.createHash('sha256').update(given).digest();
    if (crypto.timingSafeEqual(actual, expected)) return next();
    res
      .status(401)
      .set('WWW-Authenticate', 'Bearer')
      .json({ error: 'a valid bearer token (METRICS_TOKEN) is required' });
  };
}
