import type { RequestHandler } from 'express';
import session from 'express-session';
import RedisStore from 'connect-redis';
import type { RedisClient } from '@audio/queues';

export const SESSION_COOKIE = 'audio.sid';

/**
 * Server-side sessions in Redis (connect-redis): logout and expiry really end a session, and the cookie
 * carries only a signed id. httpOnly, SameSite=Lax, and Secure whenever the request came over HTTPS
 * (`secure: 'auto'`, which honours `trust proxy` behind a TLS-terminating proxy).
 */
export function createSessionMiddleware(options: {
  redis: RedisClient;
  prefix: string;
  secret: string;
  ttlMs: number;
}): RequestHandler {
  const store = new RedisStore({
    client: options.redis,
    prefix: `${options.prefix}:dashboard:session:`,
    ttl: Math.ceil(options.ttlMs / 1000),
  });
  return session({
    store,
    name: SESSION_COOKIE,
    secret: options.secret,
    resave: false,
    saveUninitialized: false,
    rolling: true,
    cookie: { httpOnly: true, sameSite: 'lax', secure: 'auto', maxAge: options.ttlMs },
  });
}
