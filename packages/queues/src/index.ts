export { resolveHostId, sanitizeHostId, isHostId } from './host-id.js';
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
  classifyPayload,
  type ClassifyPayload,
  type UnpackPayload,
  type UnpackPayloadInput,
  type ConvertPayload,
  type TranscribePayload,
  type FinalizePayload,
} from './payloads.js';
export {
  STAGES,
  STAGE_NAMES,
  isStageName,
  stageQueueName,
  parseStageQueueName,
  parseStagePayload,
  stageJob,
  type StageAffinity,
  type StageDefinition,
  type StageName,
  type HostStageName,
  type StagePayload,
  type StagePayloadInput,
  type StageJob,
} from './stages.js';
export {
  UNPACK_QUEUE,
  CLASSIFY_QUEUE,
  HOST_QUEUE_KINDS,
  hostQueueName,
  convertQueueName,
  transcribeQueueName,
  finalizeQueueName,
  parseHostQueueName,
  type HostQueueKind,
} from './queue-names.js';
export {
  PIPELINE_STAGES,
  PipelineError,
  pipelineFailureSchema,
  failureOf,
  toJobError,
  decodeFailure,
  type PipelineStage,
  type PipelineFailure,
  type StoredFailure,
  type FailureContext,
} from './pipeline-failure.js';
export { createStageWorker, type StageHandler, type StageWorkerOptions } from './stage-worker.js';
export {
  StageWorkers,
  MissingHandlerError,
  type StageHandlers,
  type StageRegistration,
  type StageWorkersOptions,
} from './stage-workers.js';
export { readRedisConfig, type RedisConfig } from './redis-config.js';
export {
  createRedisConnection,
  scanKeys,
  waitForReplica,
  type ConnectionRole,
  type RedisClient,
} from './connections.js';
export {
  buildBatchFlow,
  batchJobIds,
  BatchFlowProducer,
  type BatchFlowFile,
  type BatchFlowSpec,
} from './batch-flow.js';
export { closeOnSignals, type Closable } from './graceful-shutdown.js';
export {
  HeartbeatPublisher,
  readHeartbeats,
  readHostsLastSeen,
  readHeartbeatInterval,
  noticeSilentHost,
  heartbeatSchema,
  type Heartbeat,
} from './heartbeat.js';
export { DEFAULT_JOB_RETENTION, readWorkerTuning, workerName, type WorkerTuning } from './worker-tuning.js';
export { JobBatcher, type BatchProcessor } from './job-batcher.js';
export { logWorkerEvents } from './worker-events.js';
