import fsp from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';

/** The policy text a reviewer judges against, as the policy file holds it. */
export interface ReviewPolicy {
  id: string;
  version: string;
  title: string;
  sections: { name: string; text: string }[];
}

/** The repository's demo policy: what the GPU app classifies with unless POLICY_FILE says otherwise. */
export const DEMO_POLICY_FILE = fileURLToPath(
  new URL('../../../gpu/policies/demo-policy.json', import.meta.url),
);

const policyFile = z.object({
  id: z.string().min(1),
  version: z.union([z.string().min(1), z.number().transform(String)]),
  title: z.string().optional(),
  sections: z.array(z.object({ name: z.string(), text: z.string() })).min(1),
});

/**
 * The one place the review page gets its policy text from: today the configured policy file (the one
 * the GPU hosts classify with), read again when it changes on disk. When policies become rows of a
 * table, this function reads the active row instead and nothing else changes.
 */
export function createPolicyLookup(file: string): () => Promise<ReviewPolicy | { error: string }> {
  let cached: { mtimeMs: number; policy: ReviewPolicy } | undefined;
  return async () => {
    try {
      const { mtimeMs } = await fsp.stat(file);
      if (cached?.mtimeMs === mtimeMs) return cached.policy;
      const parsed = policyFile.safeParse(JSON.parse(await fsp.readFile(file, 'utf8')));
      if (!parsed.success) {
        const issue = parsed.error.issues[0]!;
        return { error: `${file}: ${issue.path.join('.') || '(file)'} ${issue.message}` };
      }
      const { id, version, title, sections } = parsed.data;
      const policy = { id, version, title: title ?? id, sections };
      cached = { mtimeMs, policy };
      return policy;
    } catch (error) {
      return { error: `${file}: ${(error as Error).message}` };
    }
  };
}
