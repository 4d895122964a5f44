export { readDbConfig, type DbConfig } from './db-config.js';
export { createDb, type Db } from './db.js';
export {
  BatchRepository,
  type CreateBatchInput,
  type BatchProgress,
  type BatchFileCounts,
  RUN_SCOPES,
  type BatchListFilter,
  type RunScope,
} from './batch-repository.js';
export {
  AudioFileRepository,
  type FileResultInput,
  type FileResult,
  type AudioFileWithResults,
} from './audio-file-repository.js';
export { FailureRepository, FAILURE_STAGES, type FailureInput } from './failure-repository.js';
export {
  ReviewerRepository,
  RA_ROLES,
  type CreateUserInput,
  type SubmitLabelInput,
  type RaQueueItem,
} from './reviewer-repository.js';
export {
  MonitoringQueries,
  type StatusCount,
  type StuckBatch,
  type FailureReasonCount,
  type HourlyCount,
  type HostCount,
  type LatencyPercentiles,
  type NoonTargetReport,
  type FlaggedWaiting,
  type OldestUnreviewed,
  type FileWithoutOpusKey,
  type PolicyLabelRate,
  type ReviewerDayCount,
  type RecentFailures,
} from './monitoring-queries.js';
export {
  DbInputError,
  BatchNotFoundError,
  BatchStateError,
  ConflictingRecordError,
  AudioFileNotFoundError,
  UsernameTakenError,
} from './errors.js';
export {
  PrismaClient,
  Prisma,
  BatchStatus,
  FailureStage,
  RaRole,
  RaAssignmentStatus,
  type Batch,
  type BatchRun,
  type AudioFile,
  type Transcript,
  type Classification,
  type ProcessingFailure,
  type RaUser,
  type RaAssignment,
  type RaLabel,
} from './generated/prisma/client.js';
