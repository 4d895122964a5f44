import { UnrecoverableError } from 'bullmq';
import { z } from 'zod';

/** The step of the pipeline where something failed, as `processing_failures.stage` records it. */
export const PIPELINE_STAGES = [
  'transfer',
  'unpack',
  'convert',
  'transcribe',
  'finalize',
  'classify',
] as const;
export type PipelineStage = (typeof PIPELINE_STAGES)[number];

/**
 * A failure as data. Made once, where it happens (the stage worker completes it with the stage, the
 * job's archive entry and attempt), stored by BullMQ as the failed job's reason (JSON), and read once,
 * where it is recorded (finalize → `processing_failures`); metrics and pages read the same fields.
 */
export const pipelineFailureSchema = z.object({
  /** Stable reason code (`not_mp3`, `decode_error`, `sidecar_unavailable`, …): `processing_failures.reason_code`. */
  code: z.string().regex(/^[a-z0-9_]+$/),
  stage: z.enum(PIPELINE_STAGES),
  /** The entry's path inside the archive; '' for a failure of the batch as a whole. */
  entry: z.string(),
  message: z.string(),
  /** Whether another attempt may succeed (BullMQ retries it while attempts are left). */
  retryable: z.boolean(),
  /** The attempt of the job that failed (1 for the first). */
  attempts: z.number().int().positive(),
});
export type PipelineFailure = z.output<typeof pipelineFailureSchema>;

/**
 * A failure read back from BullMQ. Stage, entry and attempts are missing only from the reasons that a
 * release before the stage table wrote (see `decodeFailure`).
 */
export type StoredFailure = Omit<PipelineFailure, 'stage' | 'entry' | 'attempts'> &
  Partial<Pick<PipelineFailure, 'stage' | 'entry' | 'attempts'>>;

/**
 * An error with a stable reason code. Code that knows more than the worker (the stage a passed-on
 * failure happened in, its entry) says so in `options`; the stage worker fills in the rest.
 */
export class PipelineError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly options: { retryable?: boolean; stage?: PipelineStage; entry?: string; attempts?: number } = {},
  ) {
    super(message);
    this.name = 'PipelineError';
  }

  get retryable(): boolean {
    return this.options.retryable ?? true;
  }

  /** A failure passed on unchanged (a transcribe job whose convert child failed for good). */
  static from(failure: StoredFailure): PipelineError {
    return new PipelineError(failure.code, failure.message, {
      retryable: failure.retryable,
      ...(failure.stage ? { stage: failure.stage } : {}),
      ...(failure.entry !== undefined ? { entry: failure.entry } : {}),
      ...(failure.attempts ? { attempts: failure.attempts } : {}),
    });
  }
}

/** Where a failure happened, as the stage worker knows it. */
export interface FailureContext {
  stage: PipelineStage;
  entry: string;
  attempts: number;
}

/**
 * Any error thrown in a stage, as a failure: a PipelineError keeps its code and what it says about
 * itself; an UnrecoverableError is `error`, not retryable; anything else (S3, Postgres, a crashed
 * sidecar) is `error` and retried while attempts are left, as BullMQ does with any error.
 */
export function failureOf(error: unknown, context: FailureContext): PipelineFailure {
  if (error instanceof PipelineError) {
    return {
      code: error.code,
      stage: error.options.stage ?? context.stage,
      entry: error.options.entry ?? context.entry,
      message: error.message,
      retryable: error.retryable,
      attempts: error.options.attempts ?? context.attempts,
    };
  }
  const message = error instanceof Error ? error.message : String(error);
  return { ...context, code: 'error', message, retryable: !(error instanceof UnrecoverableError) };
}

/** The form BullMQ stores as the failed reason; a failure that must not be retried is an UnrecoverableError. */
export function toJobError(failure: PipelineFailure): Error {
  const text = JSON.stringify(pipelineFailureSchema.parse(failure));
  return failure.retryable ? new Error(text) : new UnrecoverableError(text);
}

const LEGACY_REASON = /^\[([a-z0-9_]+)(?:@([a-z]+))?\] ([\s\S]*)$/;

/**
 * A stored failed reason, as data. Three forms are read:
 * - the JSON `toJobError` writes;
 * - `[code@stage] message`, which releases before the stage table wrote. Flows outlive a deploy (a host
 *   is upgraded while its batches are half done, and failed jobs are kept a week), so a new finalize can
 *   meet such a reason: it carries no entry nor attempts, and a finished job's reason is final
 *   (`retryable: false`). Remove this branch once no flow from before the upgrade can remain.
 * - anything else (a job that failed outside our workers, a stalled job): code `error`, the text as message.
 */
export function decodeFailure(text: string | undefined): StoredFailure {
  if (text?.startsWith('{')) {
    try {
      const parsed = pipelineFailureSchema.safeParse(JSON.parse(text));
      if (parsed.success) return parsed.data;
    } catch {
      // not ours: read as plain text below
    }
  }
  const legacy = LEGACY_REASON.exec(text ?? '');
  if (legacy) {
    const stage = PIPELINE_STAGES.find((s) => s === legacy[2]);
    return { code: legacy[1]!, ...(stage ? { stage } : {}), message: legacy[3]!, retryable: false };
  }
  return { code: 'error', message: text || 'unknown failure', retryable: false };
}
