import { UnrecoverableError } from 'bullmq';

/** The step of the pipeline where a file failed, as `processing_failures.stage` records it. */
export type PipelineStage = 'transfer' | 'unpack' | 'convert' | 'transcribe' | 'finalize';

export interface FailureReason {
  code: string;
  stage?: PipelineStage;
  message: string;
}

/**
 * An error with a stable reason code (`not_mp3`, `decode_error`, `sidecar_unavailable`, …) that ends up in
 * `processing_failures.reason_code`. BullMQ keeps only a message per failed job, so code and stage
 * travel in the message as `[code@stage] message`.
 */
export class PipelineError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly options: { retryable?: boolean; stage?: PipelineStage } = {},
  ) {
    super(message);
    this.name = 'PipelineError';
  }

  get retryable(): boolean {
    return this.options.retryable ?? true;
  }

  /** The form BullMQ stores: a permanent error must not be retried, which UnrecoverableError says. */
  toJobError(): Error {
    const text = formatReason({ code: this.code, stage: this.options.stage, message: this.message });
    return this.retryable ? new Error(text) : new UnrecoverableError(text);
  }
}

export function formatReason(reason: FailureReason): string {
  return `[${reason.code}${reason.stage ? `@${reason.stage}` : ''}] ${reason.message}`;
}

const STAGES = new Set(['transfer', 'unpack', 'convert', 'transcribe', 'finalize']);

/** Splits a stored failure message back into code, stage and message; unknown shapes get `error`. */
export function parseReason(text: string | undefined): FailureReason {
  const match = /^\[([a-z0-9_]+)(?:@([a-z]+))?\] ([\s\S]*)$/.exec(text ?? '');
  if (!match) return { code: 'error', message: text ?? 'unknown failure' };
  const stage = match[2] && STAGES.has(match[2]) ? (match[2] as PipelineStage) : undefined;
  return { code: match[1]!, ...(stage ? { stage } : {}), message: match[3]! };
}
