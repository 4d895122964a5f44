import type { Policy, PolicyRepository } from '@audio/db';
import type { Logger } from '@audio/logger';
import { loadPolicy, parsePolicy, type LoadedPolicy } from './sidecar/index.js';

/** A stored policy version, parsed for the sidecar; `source` names it in errors. */
export function storedPolicy(row: Policy): LoadedPolicy {
  const loaded = parsePolicy(row.text, `stored policy ${row.id}@${row.version}`);
  if (loaded.sha256 !== row.sha256 || loaded.id !== row.id || loaded.version !== row.version) {
    throw new Error(`stored policy ${row.id}@${row.version} does not match its own sha256, id or version`);
  }
  return loaded;
}

/** Stores a policy file as a version (idempotent); the loaded policy and whether it was new. */
export async function addPolicyFile(
  policies: PolicyRepository,
  file: string,
): Promise<{ policy: LoadedPolicy; created: boolean }> {
  const policy = await loadPolicy(file);
  const { created } = await policies.add({
    id: policy.id,
    version: policy.version,
    sha256: policy.sha256,
    text: policy.text,
    title: policy.document.title,
  });
  return { policy, created };
}

/**
 * The policy new files are classified under: the active version in the `policies` table, re-read at
 * most every `refreshMs`, so `pnpm policy activate` reaches every GPU host within that time without a
 * restart. At start, the configured POLICY_FILE is stored, and activated when no version is active yet
 * (a fresh database, the demo): an explicit `activate` always wins over the file.
 */
export class ActivePolicy {
  private cached: { policy: LoadedPolicy; readAt: number } | undefined;
  private reading: Promise<LoadedPolicy> | undefined;

  constructor(
    private readonly policies: PolicyRepository,
    private readonly options: { refreshMs: number; logger: Logger },
  ) {}

  async init(policyFile: string): Promise<LoadedPolicy> {
    const { policy } = await addPolicyFile(this.policies, policyFile);
    if (!(await this.policies.active())) await this.policies.activate(policy.id, policy.version);
    return this.current();
  }

  async current(): Promise<LoadedPolicy> {
    if (this.cached && performance.now() - this.cached.readAt < this.options.refreshMs)
      return this.cached.policy;
    this.reading ??= this.read().finally(() => (this.reading = undefined));
    return this.reading;
  }

  private async read(): Promise<LoadedPolicy> {
    const row = await this.policies.active();
    if (!row) {
      if (this.cached) return this.cached.policy; // deactivated by hand: keep the last one rather than stop
      throw new Error('no policy version is active: pnpm policy activate VERSION');
    }
    const previous = this.cached?.policy;
    const policy = previous?.sha256 === row.sha256 ? previous : storedPolicy(row);
    if (previous && previous !== policy) {
      this.options.logger.info({ policy: policy.id, version: policy.version }, 'active policy changed');
    }
    this.cached = { policy, readAt: performance.now() };
    return policy;
  }
}
