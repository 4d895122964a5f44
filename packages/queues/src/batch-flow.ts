import { FlowProducer, Queue, type ConnectionOptions, type FlowJob } from 'bullmq';
import { finalizeQueueName } from './queue-names.js';
import { stageJob } from './stages.js';

export interface BatchFlowFile {
  index: number;
  entry: string;
  /** Relative to the batch's scratch directory. */
  sourcePath: string;
  opusPath: string;
  sha256: string;
  sizeBytes: number;
}

export interface BatchFlowSpec {
  batchId: string;
  hostId: string;
  run: number;
  transferredAt: string;
  archiveKey: string;
  refused: number;
  files: BatchFlowFile[];
  /** `failed-files` for a retry of a finished batch's failed files. */
  scope?: 'all' | 'failed-files';
}

/**
 * Deterministic job ids (BullMQ forbids ':' and all-digit ids), so adding the same flow twice is a
 * no-op. A replay (`run` > 0) gets ids of its own: the first run's jobs may still be kept as completed.
 */
export function batchJobIds(batchId: string, run: number) {
  const base = run === 0 ? batchId : `${batchId}-r${run}`;
  return {
    finalize: `${base}-finalize`,
    transcribe: (index: number) => `${base}-${index}`,
    convert: (index: number) => `${base}-${index}-convert`,
  };
}

/**
 * One flow per batch, all on the host that owns the scratch directory:
 *   finalize (parent) ← transcribe (one per file) ← convert (one per file).
 * BullMQ runs the deepest jobs first, so a file is transcribed as soon as its own conversion is done,
 * while later files are still converting. Every child carries `ignoreDependencyOnFailure`: one bad
 * file must not leave its parent waiting for ever; the parent reads the failures instead.
 */
export function buildBatchFlow(spec: BatchFlowSpec): FlowJob {
  const ids = batchJobIds(spec.batchId, spec.run);
  const { hostId } = spec;
  const finalize = stageJob(
    'finalize',
    {
      batchId: spec.batchId,
      hostId,
      run: spec.run,
      files: spec.files.length,
      refused: spec.refused,
      archiveKey: spec.archiveKey,
      scope: spec.scope ?? 'all',
    },
    { hostId, jobId: ids.finalize },
  );
  return {
    ...finalize,
    children: spec.files.map((file) => {
      const common = {
        batchId: spec.batchId,
        index: file.index,
        entry: file.entry,
        transferredAt: spec.transferredAt,
      };
      const transcribe = stageJob(
        'transcribe',
        { ...common, opusPath: file.opusPath, sha256: file.sha256, sizeBytes: file.sizeBytes },
        { hostId, jobId: ids.transcribe(file.index), ignoreDependencyOnFailure: true },
      );
      const convert = stageJob(
        'convert',
        { ...common, sourcePath: file.sourcePath, opusPath: file.opusPath },
        { hostId, jobId: ids.convert(file.index), ignoreDependencyOnFailure: true },
      );
      return { ...transcribe, children: [convert] };
    }),
  };
}

/** Adds batch flows, once: a retried unpack job finds the flow it already created and leaves it alone. */
export class BatchFlowProducer {
  private readonly flows: FlowProducer;
  private readonly finalizeQueues = new Map<string, Queue>();

  constructor(
    private readonly connection: ConnectionOptions,
    private readonly prefix: string,
  ) {
    this.flows = new FlowProducer({ connection, prefix });
  }

  /** Returns false when the batch's flow for this run already exists. */
  async add(spec: BatchFlowSpec): Promise<boolean> {
    const queue = this.finalizeQueue(spec.hostId);
    const existing = await queue.getJob(batchJobIds(spec.batchId, spec.run).finalize);
    if (existing) return false;
    await this.flows.add(buildBatchFlow(spec));
    return true;
  }

  async close(): Promise<void> {
    await Promise.all([...this.finalizeQueues.values()].map((q) => q.close()));
    await this.flows.close();
  }

  private finalizeQueue(hostId: string): Queue {
    const name = finalizeQueueName(hostId);
    let queue = this.finalizeQueues.get(name);
    if (!queue) {
      queue = new Queue(name, { connection: this.connection, prefix: this.prefix });
      this.finalizeQueues.set(name, queue);
    }
    return queue;
  }
}
