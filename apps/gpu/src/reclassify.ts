import { randomBytes } from 'node:crypto';
import { stat } from 'node:fs/promises';
import { Job, Queue } from 'bullmq';
import { ClassificationRepository, PolicyRepository, type Policy, type ReclassifySelection } from '@audio/db';
import { CLASSIFY_QUEUE, stageJob } from '@audio/queues';
import type { Connections } from '@audio/runtime';
import { addPolicyFile } from './policy-store.js';

export interface ReclassifyOptions extends ReclassifySelection {
  /** A policy file (stored as a version if new, not activated) or a stored VERSION / ID@VERSION. */
  policy: string;
  /** Files per `classify` job: one sidecar request each. */
  jobSize?: number;
  /** Only queue the jobs; do not wait for them. */
  wait?: boolean;
  pollMs?: number;
  onProgress?: (progress: ReclassifyProgress) => void;
}

export interface ReclassifyProgress {
  /** Files of the selection with a transcript. */
  total: number;
  /** Of those, classified under the version (before this run, or by it). */
  classified: number;
  /** Of those, flagged by the version. */
  flagged: number;
  jobsDone: number;
  jobs: number;
  /** Whether any worker takes `classify` jobs right now (a GPU app). */
  workers: number;
}

export interface ReclassifySummary extends ReclassifyProgress {
  policyId: string;
  policyVersion: string;
  runId: string;
  /** Files this run queued (those not yet classified under the version). */
  queued: number;
  failedJobs: { jobId: string; reason: string }[];
  seconds: number;
}

/** The policy named on the command line: a file (stored when new) or a stored version. */
export async function resolvePolicy(policies: PolicyRepository, reference: string): Promise<Policy> {
  const isFile = await stat(reference).then(
    (s) => s.isFile(),
    () => false,
  );
  if (!isFile) return policies.find(reference);
  const { policy } = await addPolicyFile(policies, reference);
  return (await policies.get(policy.id, policy.version))!;
}

/**
 * `pnpm reclassify`: queues the selection's stored transcripts that the version has not classified, in
 * `classify` jobs that the GPU hosts run (the sidecar's classify op: text in, score out), and follows
 * them to the end. Safe to repeat: each run queues only what is missing, and the handler skips files
 * classified meanwhile.
 */
export async function reclassify(
  connections: Pick<Connections, 'db' | 'redis' | 'prefix'>,
  options: ReclassifyOptions,
): Promise<ReclassifySummary> {
  const started = performance.now();
  const policies = new PolicyRepository(connections.db);
  const classifications = new ClassificationRepository(connections.db);
  const policy = await resolvePolicy(policies, options.policy);
  const target = { id: policy.id, version: policy.version };
  const selection: ReclassifySelection = {
    ...(options.batchId ? { batchId: options.batchId } : {}),
    ...(options.since ? { since: options.since } : {}),
  };
  const jobSize = options.jobSize ?? 200;
  const runId = `${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;
  const queue = new Queue(CLASSIFY_QUEUE, { connection: connections.redis, prefix: connections.prefix });
  try {
    const jobIds: string[] = [];
    let queued = 0;
    let afterId: string | undefined;
    for (;;) {
      const page = await classifications.unclassifiedPage(selection, target, {
        afterId,
        limit: jobSize * 20,
      });
      if (page.length === 0) break;
      const jobs = [];
      for (let i = 0; i < page.length; i += jobSize) {
        const jobId = `reclassify-${runId}-${jobIds.length}`;
        const audioFileIds = page.slice(i, i + jobSize);
        jobs.push(
          stageJob(
            'classify',
            { runId, policyId: policy.id, policyVersion: policy.version, audioFileIds },
            { jobId },
          ),
        );
        jobIds.push(jobId);
        queued += audioFileIds.length;
      }
      await queue.addBulk(jobs);
      afterId = page.at(-1);
    }

    const pending = new Set(jobIds);
    const failedJobs: ReclassifySummary['failedJobs'] = [];
    const progress = async (): Promise<ReclassifyProgress> => ({
      ...(await classifications.progress(selection, target)),
      jobsDone: jobIds.length - pending.size,
      jobs: jobIds.length,
      workers: await queue.getWorkersCount(),
    });
    let last = await progress();
    options.onProgress?.(last);
    while (options.wait !== false && pending.size > 0) {
      await new Promise((resolve) => setTimeout(resolve, options.pollMs ?? 1000));
      for (const jobId of [...pending]) {
        const job = await Job.fromId(queue, jobId);
        const state = job ? await job.getState() : 'unknown';
        if (state === 'completed' || state === 'unknown') pending.delete(jobId);
        else if (state === 'failed') {
          pending.delete(jobId);
          failedJobs.push({ jobId, reason: job?.failedReason ?? '' });
        } else break; // jobs run about in order: the later ones are not done either
      }
      last = await progress();
      options.onProgress?.(last);
    }
    return {
      ...last,
      policyId: policy.id,
      policyVersion: policy.version,
      runId,
      queued,
      failedJobs,
      seconds: Math.round((performance.now() - started) / 100) / 10,
    };
  } finally {
    await queue.close();
  }
}
