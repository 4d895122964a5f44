import { parseHostQueueName, UNPACK_QUEUE } from '@audio/queues';

/**
 * The kind of a queue (`unpack`, `convert`, `transcribe`, `finalize`) without its host id: a label with
 * a handful of values, where the queue name itself would grow with the fleet.
 */
export function queueKind(queueName: string): string {
  if (queueName === UNPACK_QUEUE) return UNPACK_QUEUE;
  return parseHostQueueName(queueName)?.kind ?? 'other';
}
