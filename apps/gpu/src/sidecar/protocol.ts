import { z } from 'zod';

/**
 * The sidecar protocol (apps/gpu/sidecar/README.md): one JSON object per line each way.
 * Every line the sidecar writes is validated here; a line that fails is a garbage line and costs
 * the process a restart, because a sidecar that writes garbage cannot be trusted with the next
 * request either.
 */

export const errorBodySchema = z.object({ code: z.string(), message: z.string() });

export const readyMessageSchema = z.object({
  type: z.literal('ready'),
  backend: z.string(),
  models: z.record(z.string(), z.string()),
  device: z.string(),
  pid: z.number().int().optional(),
  protocol: z.number().int().optional(),
  /** Model name → version of what it loaded (a synced version's manifest; `unversioned` otherwise). */
  modelVersions: z.record(z.string(), z.string()).optional(),
});

export const segmentSchema = z.object({ start: z.number(), end: z.number(), text: z.string() });

export const transcriptSchema = z.object({
  text: z.string(),
  language: z.string(),
  segments: z.array(segmentSchema),
  model: z.string(),
});

export const classificationSchema = z.object({
  policyId: z.string(),
  policyVersion: z.string(),
  policySha256: z.string(),
  flagged: z.boolean(),
  /** Probability that the content meets a label of the policy (CoPE-A: P("1")). */
  score: z.number().min(0).max(1),
  model: z.string(),
});

export const resultItemOkSchema = z.object({
  key: z.string(),
  ok: z.literal(true),
  transcript: transcriptSchema,
  classification: classificationSchema,
  durationSeconds: z.number().nonnegative(),
});

export const resultItemFailedSchema = z.object({
  key: z.string(),
  ok: z.literal(false),
  /** `not_found`, `decode_error`, `transcribe_error`, `classify_error`, `internal_error`. */
  error: errorBodySchema,
});

export const resultItemSchema = z.discriminatedUnion('ok', [resultItemOkSchema, resultItemFailedSchema]);

const requestId = z.union([z.string(), z.number()]);

export const resultMessageSchema = z.object({
  id: requestId,
  type: z.literal('result'),
  items: z.array(resultItemSchema),
});
export const pongMessageSchema = z.object({ id: requestId, type: z.literal('pong') });
export const shutdownMessageSchema = z.object({ id: requestId, type: z.literal('shutdown') });
/** A request the sidecar could not serve as written; without an id when the line had none. */
export const errorMessageSchema = z.object({
  id: requestId.optional(),
  type: z.literal('error'),
  error: errorBodySchema,
});

export const sidecarMessageSchema = z.discriminatedUnion('type', [
  readyMessageSchema,
  resultMessageSchema,
  pongMessageSchema,
  shutdownMessageSchema,
  errorMessageSchema,
]);

export type ReadyInfo = z.infer<typeof readyMessageSchema>;
export type Segment = z.infer<typeof segmentSchema>;
export type Transcript = z.infer<typeof transcriptSchema>;
export type Classification = z.infer<typeof classificationSchema>;
export type SidecarResultItemOk = z.infer<typeof resultItemOkSchema>;
export type SidecarResultItemFailed = z.infer<typeof resultItemFailedSchema>;
export type SidecarResultItem = z.infer<typeof resultItemSchema>;
export type SidecarMessage = z.infer<typeof sidecarMessageSchema>;

/** One audio file to transcribe and classify; `key` comes back on its result. */
export interface SidecarItem {
  key: string;
  path: string;
}

/** What each `process` request carries about the policy (see `loadPolicy`). */
export interface PolicyRef {
  id: string;
  version: string;
  /** sha256 of the policy file's bytes, hex. */
  sha256: string;
  document: unknown;
}

export type SidecarRequest =
  | { id: string; op: 'process'; items: SidecarItem[]; policy: PolicyRef }
  | { id: string; op: 'ping' }
  | { id: string; op: 'shutdown' };
