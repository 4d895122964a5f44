import { argon2id, hash, needsRehash, verify } from 'argon2';

/**
 * argon2id with the library's defaults (OWASP's recommended parameters). The hash string carries its
 * own parameters, so raising them later still verifies old hashes (`needsRehash` says when to upgrade).
 */
export function hashPassword(password: string): Promise<string> {
  return hash(password, { type: argon2id });
}

export async function verifyPassword(passwordHash: string, password: string): Promise<boolean> {
  try {
    return await verify(passwordHash, password);
  } catch {
    return false; // not an argon2 hash (e.g. a disabled account's placeholder)
  }
}

export function passwordNeedsRehash(passwordHash: string): boolean {
  try {
    return needsRehash(passwordHash);
  } catch {
    return false;
  }
}
