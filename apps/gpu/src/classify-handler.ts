import type { ClassificationRepository, PolicyRepository } from '@audio/db';
import { PipelineError, type ClassifyPayload } from '@audio/queues';
import { storedPolicy } from './policy-store.js';
import type { ClassifiedItem, LoadedPolicy, SidecarProcess } from './sidecar/index.js';

export interface ClassifyDeps {
  sidecar: Pick<SidecarProcess, 'classify'>;
  policies: PolicyRepository;
  classifications: ClassificationRepository;
}

export interface ClassifyResult {
  classified: number;
  flagged: number;
  /** Files of the job the version had classified already (a retry, or a second run). */
  skipped: number;
}

/** Stored policy versions parsed once per process (they never change: a change is a new version). */
const parsed = new Map<string, LoadedPolicy>();

/**
 * The `classify` stage: stored transcripts of a job's files → the sidecar's classify op (no audio, no
 * Whisper) under the job's policy version → one classification per (file, policy, version). Files
 * already classified under it are skipped, so a retried or repeated job does only what is missing.
 */
export async function classifyStoredTranscripts(
  deps: ClassifyDeps,
  data: ClassifyPayload,
): Promise<ClassifyResult> {
  const key = `${data.policyId}@${data.policyVersion}`;
  let policy = parsed.get(key);
  if (!policy) {
    const row = await deps.policies.get(data.policyId, data.policyVersion);
    if (!row)
      throw new PipelineError('policy_not_found', `policy ${key} is not stored`, { retryable: false });
    policy = storedPolicy(row);
    parsed.set(key, policy);
  }
  const todo = await deps.classifications.transcriptsToClassify(data.audioFileIds, {
    id: data.policyId,
    version: data.policyVersion,
  });
  const results = await deps.sidecar.classify(
    todo.map((t) => ({ key: t.audioFileId, text: t.text })),
    policy,
  );
  const ok = results.filter((r): r is Extract<ClassifiedItem, { ok: true }> => r.ok);
  await deps.classifications.record(
    ok.map((r) => ({
      audioFileId: r.key,
      policyId: r.classification.policyId,
      policyVersion: r.classification.policyVersion,
      flagged: r.classification.flagged,
      score: r.classification.score,
      model: r.classification.model,
    })),
  );
  const failed = results.filter((r) => !r.ok);
  if (failed.length > 0) {
    const first = failed[0]!;
    // The others are written; another attempt sends only these.
    throw new PipelineError(
      first.ok ? 'classify_error' : first.error.code,
      `${failed.length} of ${results.length} transcripts could not be classified under ${key}; first: ${first.ok ? '' : first.error.message}`,
    );
  }
  return {
    classified: ok.length,
    flagged: ok.filter((r) => r.classification.flagged).length,
    skipped: data.audioFileIds.length - todo.length,
  };
}
