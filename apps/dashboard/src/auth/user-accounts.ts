import { RA_ROLES, type RaRole, type RaUser, type ReviewerRepository } from '@audio/db';
import { hashPassword, passwordNeedsRehash, verifyPassword } from './password-hasher.js';

export const MIN_PASSWORD_LENGTH = 12;
const MAX_PASSWORD_LENGTH = 1024;

/** A request about accounts that cannot be done as asked (unknown user, weak password, bad role). */
export class AccountError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AccountError';
  }
}

export type FirstAdminOutcome = 'created' | 'admin-exists' | 'username-taken';

/**
 * Dashboard accounts over `ra_users`: passwords are hashed here (argon2id) and never stored or logged
 * in clear; the repository only sees hashes.
 */
export class UserAccounts {
  private dummyHash: Promise<string> | undefined;

  constructor(private readonly users: ReviewerRepository) {}

  /**
   * The active user with this username and password, or null. An unknown username costs one argon2
   * verification too, so response times do not tell which usernames exist.
   */
  async authenticate(username: string, password: string): Promise<RaUser | null> {
    const user = username ? await this.users.findByUsername(username) : null;
    if (!user) {
      this.dummyHash ??= hashPassword('not-a-real-password');
      await verifyPassword(await this.dummyHash, password);
      return null;
    }
    if (!(await verifyPassword(user.passwordHash, password)) || !user.active) return null;
    if (passwordNeedsRehash(user.passwordHash)) {
      await this.users.setPasswordHash(user.id, await hashPassword(password));
    }
    return user;
  }

  async create(username: string, password: string, role: RaRole): Promise<RaUser> {
    checkRole(role);
    checkPassword(password);
    return this.users.createUser({ username, passwordHash: await hashPassword(password), role });
  }

  async setRole(username: string, role: RaRole): Promise<RaUser> {
    checkRole(role);
    return this.users.setRole((await this.get(username)).id, role);
  }

  async setActive(username: string, active: boolean): Promise<RaUser> {
    return this.users.setActive((await this.get(username)).id, active);
  }

  async setPassword(username: string, password: string): Promise<RaUser> {
    checkPassword(password);
    return this.users.setPasswordHash((await this.get(username)).id, await hashPassword(password));
  }

  list(): Promise<RaUser[]> {
    return this.users.listUsers();
  }

  /**
   * Creates the first admin from DASHBOARD_ADMIN_USER/PASSWORD when no active admin exists. An existing
   * account of that name is left alone (never promoted or re-passworded from the environment).
   */
  async ensureFirstAdmin(admin: { username: string; password: string }): Promise<FirstAdminOutcome> {
    const users = await this.users.listUsers();
    if (users.some((u) => u.role === 'admin' && u.active)) return 'admin-exists';
    if (users.some((u) => u.username === admin.username)) return 'username-taken';
    await this.create(admin.username, admin.password, 'admin');
    return 'created';
  }

  private async get(username: string): Promise<RaUser> {
    const user = await this.users.findByUsername(username);
    if (!user) throw new AccountError(`no user named ${JSON.stringify(username)}`);
    return user;
  }
}

function checkPassword(password: string): void {
  if (password.length < MIN_PASSWORD_LENGTH || password.length > MAX_PASSWORD_LENGTH) {
    throw new AccountError(
      `the password must be ${MIN_PASSWORD_LENGTH} to ${MAX_PASSWORD_LENGTH} characters long (got ${password.length})`,
    );
  }
}

function checkRole(role: string): void {
  if (!(RA_ROLES as readonly string[]).includes(role)) {
    throw new AccountError(`the role must be one of ${RA_ROLES.join(', ')} (got ${JSON.stringify(role)})`);
  }
}
