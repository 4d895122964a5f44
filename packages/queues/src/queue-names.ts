import { isHostId } from './host-id.js';

/**
 * Queue names. `unpack` is shared by every host; the others are host-affine because the files they
 * work on live on that host's scratch disk: the name carries the host id.
 */
export const UNPACK_QUEUE = 'unpack';

export type HostQueueKind = 'convert' | 'transcribe' | 'finalize';

export const HOST_QUEUE_KINDS: readonly HostQueueKind[] = ['convert', 'transcribe', 'finalize'];

export function hostQueueName(kind: HostQueueKind, hostId: string): string {
  if (!isHostId(hostId)) throw new Error(`invalid host id ${JSON.stringify(hostId)} in a queue name`);
  return `${kind}-${hostId}`;
}

export const convertQueueName = (hostId: string) => hostQueueName('convert', hostId);
export const transcribeQueueName = (hostId: string) => hostQueueName('transcribe', hostId);
export const finalizeQueueName = (hostId: string) => hostQueueName('finalize', hostId);

/** The host id and kind of a host-affine queue name, or undefined for other names. */
export function parseHostQueueName(name: string): { kind: HostQueueKind; hostId: string } | undefined {
  const match = /^(convert|transcribe|finalize)-(.+)$/.exec(name);
  if (!match || !isHostId(match[2]!)) return undefined;
  return { kind: match[1] as HostQueueKind, hostId: match[2]! };
}
