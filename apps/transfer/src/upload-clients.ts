import crypto from 'node:crypto';
import type { UploadClient, UploadClientRepository, UploadClientScope } from '@audio/db';

/** Every token starts with this, so a leaked one is easy to recognise (secret scanners, logs). */
export const TOKEN_PREFIX = 'atk_';
/** Name under which the deprecated shared UPLOAD_API_TOKEN appears in logs. */
export const SHARED_TOKEN_CLIENT = 'shared-token';

/** Who sent a request, once its bearer token was accepted. */
export interface AuthenticatedClient {
  name: string;
  scope: UploadClientScope;
}

export type Authentication =
  { ok: true; client: AuthenticatedClient } | { ok: false; reason: 'unknown' | 'revoked'; name?: string };

/**
 * sha256 of a token, hex. A fast hash is the right one here: a token is 32 random bytes (256 bits), so
 * there is nothing to guess by brute force, which is all a slow password hash (argon2, bcrypt) protects
 * against; and a plain digest lets each request find its client by an indexed lookup.
 */
export function hashToken(token: string): string {
  return crypto.createHash('sha256').update(token, 'utf8').digest('hex');
}

/**
 * The upload API's clients: tokens are created here (shown once, stored only as their hash), checked on
 * every request (a revoked token stops working at once), and named in the logs by their client's name.
 */
export class UploadClients {
  private readonly sharedTokenHash: Buffer | undefined;

  constructor(
    private readonly repository: UploadClientRepository,
    /** The deprecated shared UPLOAD_API_TOKEN: accepted with scope `upload` while it is set. */
    sharedToken?: string,
  ) {
    this.sharedTokenHash = sharedToken ? Buffer.from(hashToken(sharedToken), 'hex') : undefined;
  }

  /** A new client and its token; the token is not stored and cannot be shown again. */
  async add(name: string, scope: UploadClientScope): Promise<{ client: UploadClient; token: string }> {
    const token = TOKEN_PREFIX + crypto.randomBytes(32).toString('base64url');
    const client = await this.repository.create({
      name,
      scope,
      tokenHash: hashToken(token),
      tokenPrefix: token.slice(0, TOKEN_PREFIX.length + 4),
    });
    return { client, token };
  }

  list(): Promise<UploadClient[]> {
    return this.repository.list();
  }

  revoke(name: string): Promise<UploadClient | null> {
    return this.repository.revoke(name);
  }

  async authenticate(token: string): Promise<Authentication> {
    const hash = hashToken(token);
    if (this.sharedTokenHash && crypto.timingSafeEqual(Buffer.from(hash, 'hex'), this.sharedTokenHash))
      return { ok: true, client: { name: SHARED_TOKEN_CLIENT, scope: 'upload' } };
    // Looked up by hash, so no comparison of the secret itself depends on its content.
    const client = await this.repository.findByTokenHash(hash);
    if (!client) return { ok: false, reason: 'unknown' };
    if (client.revokedAt) return { ok: false, reason: 'revoked', name: client.name };
    return { ok: true, client: { name: client.name, scope: client.scope } };
  }
}
