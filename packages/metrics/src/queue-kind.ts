import { parseStageQueueName } from '@audio/queues';

/**
 * The kind of a queue (its stage: `unpack`, `convert`, `transcribe`, `finalize`) without its host id: a
 * label with a handful of values, where the queue name itself would grow with the fleet.
 */
export function queueKind(queueName: string): string {
  return parseStageQueueName(queueName)?.stage ?? 'other';
}
