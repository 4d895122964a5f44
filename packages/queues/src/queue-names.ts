import { stageQueueName, type HostStageName, parseStageQueueName, STAGE_NAMES, STAGES } from './stages.js';

// Shorthands over the stage table for the queue names the rest of the code names most.

export const UNPACK_QUEUE = stageQueueName('unpack');
export const CLASSIFY_QUEUE = stageQueueName('classify');

/** The stages with a queue per host (the name carries the host id). */
export type HostQueueKind = HostStageName;

export const HOST_QUEUE_KINDS = STAGE_NAMES.filter(
  (name) => STAGES[name].affinity === 'host',
) as HostQueueKind[];

export const hostQueueName = (kind: HostQueueKind, hostId: string) => stageQueueName(kind, hostId);
export const convertQueueName = (hostId: string) => stageQueueName('convert', hostId);
export const transcribeQueueName = (hostId: string) => stageQueueName('transcribe', hostId);
export const finalizeQueueName = (hostId: string) => stageQueueName('finalize', hostId);

/** The host id and kind of a host-affine queue name, or undefined for other names. */
export function parseHostQueueName(name: string): { kind: HostQueueKind; hostId: string } | undefined {
  const parsed = parseStageQueueName(name);
  if (!parsed?.hostId) return undefined;
  return { kind: parsed.stage as HostQueueKind, hostId: parsed.hostId };
}
