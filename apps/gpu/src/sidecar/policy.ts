import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import type { PolicyRef } from './protocol.js';

/** The demo content policy (violent threats) kept in the repo. */
export const DEMO_POLICY_FILE = fileURLToPath(new URL('../../policies/demo-policy.json', import.meta.url));
/** The demo policy revised (planned attacks only): `pnpm reclassify --policy` on the demo data. */
export const DEMO_POLICY_V2_FILE = fileURLToPath(
  new URL('../../policies/demo-policy-v2.json', import.meta.url),
);

export const policyDocumentSchema = z.object({
  id: z.string().min(1),
  version: z.string().min(1),
  title: z.string().min(1),
  /** Rendered as `## name` markdown sections in CoPE-A's POLICY block. */
  sections: z.array(z.object({ name: z.string().min(1), text: z.string().min(1) })).min(1),
  /** Only for the `fixture` backend: an item is flagged when its text holds one of these words. */
  fixture: z.object({ flagWords: z.array(z.string().min(1)).min(1) }).optional(),
});

export type PolicyDocument = z.infer<typeof policyDocumentSchema>;

export interface LoadedPolicy extends PolicyRef {
  document: PolicyDocument;
  /** The file's text, verbatim: what the `policies` table stores. */
  text: string;
}

export class PolicyFileError extends Error {
  constructor(
    readonly file: string,
    reason: string,
  ) {
    super(`policy file ${file}: ${reason}`);
    this.name = 'PolicyFileError';
  }
}

/**
 * Reads and validates a policy file. The sha256 is of the file's bytes, so results name exactly
 * the text they were judged against, formatting included.
 */
export async function loadPolicy(file: string): Promise<LoadedPolicy> {
  let bytes: Buffer;
  try {
    bytes = await readFile(file);
  } catch (error) {
    throw new PolicyFileError(file, `cannot be read (${(error as NodeJS.ErrnoException).code ?? error})`);
  }
  return parsePolicy(bytes, file);
}

/** A policy from its file's bytes (a file, or the text the `policies` table stored); `source` names it in errors. */
export function parsePolicy(bytes: Buffer | string, source: string): LoadedPolicy {
  const buffer = typeof bytes === 'string' ? Buffer.from(bytes, 'utf8') : bytes;
  const text = buffer.toString('utf8');
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new PolicyFileError(source, `is not valid JSON (${(error as Error).message})`);
  }
  const parsed = policyDocumentSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const where = issue.path.length > 0 ? issue.path.join('.') : '(top level)';
    throw new PolicyFileError(source, `is invalid at ${where}: ${issue.message}`);
  }
  const document = parsed.data;
  return {
    id: document.id,
    version: document.version,
    sha256: createHash('sha256').update(buffer).digest('hex'),
    document,
    text,
  };
}
