export { readDbConfig, type DbConfig } from './db-config.js';
export { createDb, type Db } from './db.js';
export {
  BatchRepository,
  type CreateBatchInput,
  type BatchProgress,
  type BatchFileCounts,
  type OwnedBatch,
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
  ReviewRepository,
  readSegments,
  type TranscriptSegment,
  type ReviewItem,
  type ResumeRefusal,
  type ReviewProgress,
  type RecentLabel,
  type UndoableLabel,
  type UndoneLabel,
} from './review-repository.js';
export {
  UploadClientRepository,
  UPLOAD_CLIENT_SCOPES,
  type CreateUploadClientInput,
} from './upload-client-repository.js';
export {
  ClassificationRepository,
  type ClassificationInput,
  type ReclassifySelection,
} from './classification-repository.js';
export {
  FileRecordQueries,
  isAudioFileId,
  type FileRecord,
  type FileClassification,
  type FileLabel,
  type FileQueueState,
  type ReviewSample,
} from './file-record-queries.js';
export { streamLabels, LABEL_EXPORT_COLUMNS, type LabelExportRow } from './label-export.js';
export {
  ResearchQueries,
  type PolicyKey,
  type ChangedVerdict,
  type VersionComparison,
  type EvaluationLabel,
  type ReviewedVerdict,
} from './research-queries.js';
export {
  PolicyRepository,
  reviewDraw,
  type AddPolicyInput,
  type PolicySampling,
  type PolicySummary,
} from './policy-repository.js';
export {
  MonitoringQueries,
  type StatusCount,
  type StuckBatch,
  type FailureReasonCount,
  type HourlyCount,
  type HostCount,
  type LatencyPercentiles,
  type NoonTargetReport,
  type NoonWindow,
  type NoonBacklog,
  type HostThroughput,
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
  LeaseNotHeldError,
  NothingToUndoError,
  UploadClientExistsError,
  PolicyNotFoundError,
} from './errors.js';
export {
  PrismaClient,
  Prisma,
  BatchStatus,
  FailureStage,
  RaRole,
  RaAssignmentStatus,
  UploadClientScope,
  type Batch,
  type BatchRun,
  type AudioFile,
  type Transcript,
  type Classification,
  type ProcessingFailure,
  type RaUser,
  type RaAssignment,
  type RaLabel,
  type UploadClient,
  type Policy,
} from './generated/prisma/client.js';
