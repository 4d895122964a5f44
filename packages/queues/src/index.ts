export { resolveHostId, sanitizeHostId, isHostId } from './host-id.js';
export {
  UNPACK_QUEUE,
  HOST_QUEUE_KINDS,
  hostQueueName,
  convertQueueName,
  transcribeQueueName,
  finalizeQueueName,
  parseHostQueueName,
  type HostQueueKind,
} from './queue-names.js';
export {
  BATCH_ID_PATTERN,
  InvalidBatchIdError,
  assertBatchId,
  batchIdProblem,
  batchIdSchema,
  isBatchId,
  newBatchId,
} from './batch-id.js';
export {
  unpackPayload,
  convertPayload,
  transcribePayload,
  finalizePayload,
  parsePayload,
  type UnpackPayload,
  type UnpackPayloadInput,
  type ConvertPayload,
  type TranscribePayload,
  type FinalizePayload,
} from './payloads.js';
export {
  PipelineError,
  formatReason,
  parseReason,
  type FailureReason,
  type PipelineStage,
} from './pipeline-error.js';
export { readRedisConfig, type RedisConfig } from './redis-config.js';
export { createRedisConnection, type ConnectionRole } from './connections.js';
export { JOB_OPTIONS } from './job-options.js';
export {
  buildBatchFlow,
  batchJobIds,
  BatchFlowProducer,
  type BatchFlowFile,
  type BatchFlowSpec,
} from './batch-flow.js';
export { closeOnSignals, type Closable } from './graceful-shutdown.js';
export { HeartbeatPublisher, readHeartbeats, heartbeatSchema, type Heartbeat } from './heartbeat.js';
export { readWorkerTuning, workerName, type WorkerTuning } from './worker-tuning.js';
export { JobBatcher, type BatchProcessor } from './job-batcher.js';
export { logWorkerEvents } from './worker-events.js';
