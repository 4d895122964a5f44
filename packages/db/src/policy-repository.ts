import { createHash } from 'node:crypto';
import { z } from 'zod';
import type { Db } from './db.js';
import type { Policy } from './generated/prisma/client.js';
import { ConflictingRecordError, DbInputError, PolicyNotFoundError } from './errors.js';
import { parseInput } from './parse-input.js';

const text = z.string().trim().min(1, 'must not be empty');
const share = z.number().min(0, 'must be between 0 and 1').max(1, 'must be between 0 and 1');

const policyInput = z.object({
  id: text,
  version: text,
  sha256: z.string().regex(/^[0-9a-f]{64}$/, 'must be 64 lowercase hex digits'),
  /** Verbatim (not trimmed): its sha256 is the file's. */
  text: z.string().min(1, 'must not be empty'),
  title: text,
});
export type AddPolicyInput = z.input<typeof policyInput>;

const samplingInput = z.object({ doubleReviewShare: share.optional(), controlShare: share.optional() });
export type PolicySampling = z.input<typeof samplingInput>;

/**
 * A file's draw in [0, 1), as the SQL function `review_draw` computes it: the first 32 bits of the md5
 * of its id. A file goes to a second reviewer (flagged) or into the control sample (unflagged) when its
 * draw is below the policy's share, so the samples are reproducible from the ids alone.
 */
export function reviewDraw(audioFileId: string): number {
  return createHash('md5').update(audioFileId.toLowerCase()).digest().readUInt32BE(0) / 2 ** 32;
}

/** A stored policy version with how many files it classified and flagged. */
export interface PolicySummary extends Policy {
  classified: number;
  flagged: number;
}

/** Policy versions as data: what `pnpm policy` writes and every classification names. */
export class PolicyRepository {
  constructor(private readonly db: Db) {}

  /**
   * Stores a policy version; adding the same file again is a no-op that returns the stored row. The
   * same (id, version) with other bytes is refused: a changed policy is a new version, or results would
   * name a text they were not judged against.
   */
  async add(input: AddPolicyInput): Promise<{ policy: Policy; created: boolean }> {
    const data = parseInput(policyInput, input, 'add policy');
    const { count } = await this.db.prisma.policy.createMany({ data: [data], skipDuplicates: true });
    const policy = await this.db.prisma.policy.findUniqueOrThrow({
      where: { id_version: { id: data.id, version: data.version } },
    });
    if (policy.sha256 !== data.sha256) {
      throw new ConflictingRecordError(
        `policy ${data.id} version ${data.version} is already stored with sha256 ${policy.sha256}; ` +
          `this file's is ${data.sha256}: give the changed policy a new version`,
      );
    }
    return { policy, created: count === 1 };
  }

  get(id: string, version: string): Promise<Policy | null> {
    return this.db.prisma.policy.findUnique({ where: { id_version: { id, version } } });
  }

  /**
   * The policy named by `version`, or by `id@version`. A bare version that two policies share is
   * refused, naming both.
   */
  async find(reference: string): Promise<Policy> {
    const at = reference.lastIndexOf('@');
    if (at > 0) {
      const policy = await this.get(reference.slice(0, at), reference.slice(at + 1));
      if (!policy) throw new PolicyNotFoundError(reference);
      return policy;
    }
    const matches = await this.db.prisma.policy.findMany({ where: { version: reference }, take: 2 });
    if (matches.length === 0) throw new PolicyNotFoundError(reference);
    if (matches.length > 1) {
      throw new DbInputError(
        'version',
        `policy version ${reference} is ambiguous: ${matches.map((p) => `${p.id}@${p.version}`).join(', ')}; name it as id@version`,
      );
    }
    return matches[0]!;
  }

  active(): Promise<Policy | null> {
    return this.db.prisma.policy.findFirst({ where: { active: true } });
  }

  /** Makes this version the active one (and no other), in one transaction. */
  async activate(id: string, version: string): Promise<Policy> {
    return this.db.prisma.$transaction(async (tx) => {
      const target = await tx.policy.findUnique({ where: { id_version: { id, version } } });
      if (!target) throw new PolicyNotFoundError(`${id}@${version}`);
      if (target.active) return target;
      await tx.policy.updateMany({ where: { active: true }, data: { active: false } });
      return tx.policy.update({
        where: { id_version: { id, version } },
        data: { active: true, activatedAt: new Date() },
      });
    });
  }

  /** The review sampling of a version: the share of flagged items reviewed twice, the control share. */
  async setSampling(id: string, version: string, sampling: PolicySampling): Promise<Policy> {
    const data = parseInput(samplingInput, sampling, 'set sampling');
    const { count } = await this.db.prisma.policy.updateMany({ where: { id, version }, data });
    if (count === 0) throw new PolicyNotFoundError(`${id}@${version}`);
    return (await this.get(id, version))!;
  }

  /** Every stored version, newest first, with its classification counts. */
  async list(): Promise<PolicySummary[]> {
    const [policies, counts] = await Promise.all([
      this.db.prisma.policy.findMany({ orderBy: [{ createdAt: 'desc' }, { id: 'asc' }, { version: 'asc' }] }),
      this.db.prisma.$queryRaw<{ policyId: string; version: string; classified: number; flagged: number }[]>`
        SELECT policy_id AS "policyId", policy_version AS version, count(*)::int AS classified,
               (count(*) FILTER (WHERE flagged))::int AS flagged
        FROM classifications GROUP BY policy_id, policy_version`,
    ]);
    const byKey = new Map(counts.map((c) => [`${c.policyId}\u0000${c.version}`, c]));
    return policies.map((p) => {
      const c = byKey.get(`${p.id}\u0000${p.version}`);
      return { ...p, classified: c?.classified ?? 0, flagged: c?.flagged ?? 0 };
    });
  }
}
