import type { DefaultJobOptions, JobsOptions } from 'bullmq';
import type { z } from 'zod';
import { isHostId } from './host-id.js';
import {
  classifyPayload,
  convertPayload,
  finalizePayload,
  transcribePayload,
  unpackPayload,
} from './payloads.js';

/**
 * Where a stage's queue lives: `shared`, one queue that every host takes from; `host`, one queue per host
 * (`{stage}-{hostId}`), because its jobs work on files in that host's scratch directory.
 */
export type StageAffinity = 'shared' | 'host';

export interface StageDefinition<P extends z.ZodType = z.ZodType, A extends StageAffinity = StageAffinity> {
  affinity: A;
  /** The job's data, as every producer writes it and every worker parses it. */
  payload: P;
  /**
   * Attempts and backoff of every job of the stage. Not retention: a job's own `removeOnComplete`
   * would override the worker's, which JOB_KEEP_* set per host (see `readWorkerTuning`).
   */
  jobOptions: DefaultJobOptions;
  /** The archive entry a job is about, named in its failures; '' when it is about the whole batch. */
  entryOf(payload: z.output<P>): string;
}

const stage = <P extends z.ZodType, A extends StageAffinity>(definition: StageDefinition<P, A>) => definition;

/**
 * The pipeline's stages: the one table that names each queue, what its jobs carry and how they are
 * retried. Producers (`stageJob`), workers (`createStageWorker`), the flow builder, the dashboard and the
 * metrics all read it; a new stage is a new row (see the package README).
 */
export const STAGES = {
  /** One archive that transfer put in S3 → scratch → the batch's flow on this host. jobId = batchId. */
  unpack: stage({
    affinity: 'shared',
    payload: unpackPayload,
    jobOptions: { attempts: 3, backoff: { type: 'exponential', delay: 30_000 } },
    entryOf: () => '',
  }),
  /** MP3 in scratch → Opus in scratch (grandchild in the batch flow). */
  convert: stage({
    affinity: 'host',
    payload: convertPayload,
    jobOptions: { attempts: 2, backoff: { type: 'exponential', delay: 2_000 } },
    entryOf: (payload) => payload.entry,
  }),
  /** Opus in scratch → sidecar → Postgres + S3 (child in the batch flow). */
  transcribe: stage({
    affinity: 'host',
    payload: transcribePayload,
    jobOptions: { attempts: 4, backoff: { type: 'exponential', delay: 5_000 } },
    entryOf: (payload) => payload.entry,
  }),
  /** Once every file of the batch is done: failures recorded, scratch removed (parent of the flow). */
  finalize: stage({
    affinity: 'host',
    payload: finalizePayload,
    jobOptions: { attempts: 5, backoff: { type: 'exponential', delay: 10_000 } },
    entryOf: () => '',
  }),
  /** Stored transcripts → sidecar `classify` → classifications under another policy version (reclassify). */
  classify: stage({
    affinity: 'shared',
    payload: classifyPayload,
    jobOptions: { attempts: 4, backoff: { type: 'exponential', delay: 5_000 } },
    entryOf: () => '',
  }),
} as const;

export type StageName = keyof typeof STAGES;
export type StagePayload<S extends StageName> = z.output<(typeof STAGES)[S]['payload']>;
export type StagePayloadInput<S extends StageName> = z.input<(typeof STAGES)[S]['payload']>;
/** The stages whose queues are per host. */
export type HostStageName = {
  [S in StageName]: (typeof STAGES)[S]['affinity'] extends 'host' ? S : never;
}[StageName];

export const STAGE_NAMES = Object.keys(STAGES) as StageName[];

export function isStageName(value: string): value is StageName {
  return Object.hasOwn(STAGES, value);
}

/** The queue of a stage: its name for a shared stage, `{stage}-{hostId}` for a host-affine one. */
export function stageQueueName(name: StageName, hostId?: string): string {
  if (STAGES[name].affinity === 'shared') return name;
  if (hostId === undefined) throw new Error(`stage ${name} has a queue per host: a host id is needed`);
  if (!isHostId(hostId)) throw new Error(`invalid host id ${JSON.stringify(hostId)} in a queue name`);
  return `${name}-${hostId}`;
}

/** The stage (and host) of a queue name, or undefined for a name no stage has. */
export function parseStageQueueName(queueName: string): { stage: StageName; hostId?: string } | undefined {
  if (isStageName(queueName) && STAGES[queueName].affinity === 'shared') return { stage: queueName };
  const dash = queueName.indexOf('-');
  if (dash < 0) return undefined;
  const name = queueName.slice(0, dash);
  const hostId = queueName.slice(dash + 1);
  if (!isStageName(name) || STAGES[name].affinity !== 'host' || !isHostId(hostId)) return undefined;
  return { stage: name, hostId };
}

/** Parses a job's data with its stage's schema, naming the queue and job id when it does not match. */
export function parseStagePayload<S extends StageName>(
  name: S,
  data: unknown,
  where: string,
): StagePayload<S> {
  const result = STAGES[name].payload.safeParse(data);
  if (result.success) return result.data as StagePayload<S>;
  const issue = result.error.issues[0]!;
  throw new Error(`job ${where} has invalid data: ${issue.path.join('.') || '(root)'}: ${issue.message}`);
}

export interface StageJob<S extends StageName> {
  name: S;
  queueName: string;
  data: StagePayload<S>;
  opts: JobsOptions;
}

/**
 * A job of a stage, its data checked against the stage's schema, with the stage's options and the given
 * (deterministic) id: `queue.add(job.name, job.data, job.opts)`, or a node of a flow.
 */
export function stageJob<S extends StageName>(
  name: S,
  data: StagePayloadInput<S>,
  options: { jobId: string; hostId?: string } & Omit<JobsOptions, 'jobId'>,
): StageJob<S> {
  const { hostId, ...opts } = options;
  return {
    name,
    queueName: stageQueueName(name, hostId),
    data: parseStagePayload(name, data, `${name}/${options.jobId}`),
    opts: { ...STAGES[name].jobOptions, ...opts },
  };
}
