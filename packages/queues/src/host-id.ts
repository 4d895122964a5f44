import os from 'node:os';
import { z } from 'zod';
import { envVar, readEnv } from '@audio/config';

const HOST_ID_PATTERN = /^[a-z0-9][a-z0-9-]{0,62}$/;

/** Lower-cases and replaces what a queue name or a job id may not hold (':' above all). */
export function sanitizeHostId(raw: string): string {
  return raw
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 63);
}

const hostEnv = z.object({
  HOST_ID: envVar(
    z.string().regex(HOST_ID_PATTERN, 'must be lower-case letters, digits and dashes (no ":")').optional(),
    'gpu-07',
  ),
});

/**
 * The id of this host in host-affine queue names. HOST_ID when set (Ansible sets it per VM),
 * otherwise the machine's hostname, sanitized.
 */
export function resolveHostId(env: NodeJS.ProcessEnv = process.env): string {
  const { HOST_ID } = readEnv(hostEnv, env);
  return HOST_ID ?? (sanitizeHostId(os.hostname()) || 'localhost');
}

export function isHostId(value: string): boolean {
  return HOST_ID_PATTERN.test(value);
}
