import type { RaRole } from '@audio/db';

/**
 * What each role may do. admin and ops run the fleet (Bull Board with retry/delete); viewer sees
 * everything read-only; reviewer (a research assistant) uses only the review UI.
 */
export type Permission = 'operations:read' | 'board:write' | 'review';

const PERMISSIONS: Record<RaRole, readonly Permission[]> = {
  admin: ['operations:read', 'board:write', 'review'],
  ops: ['operations:read', 'board:write'],
  viewer: ['operations:read'],
  reviewer: ['review'],
};

export function can(role: RaRole, permission: Permission): boolean {
  return PERMISSIONS[role].includes(permission);
}

/** Where a user lands after login. */
export function homePath(role: RaRole): string {
  return can(role, 'operations:read') ? '/batches' : '/review';
}
