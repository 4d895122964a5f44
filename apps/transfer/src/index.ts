export {
  readTransferConfig,
  type TransferConfig,
  type SftpConfig,
  type InboxConfig,
  type UploadApiConfig,
} from './config.js';
export {
  checkArchiveFile,
  hasTarMagic,
  InvalidArchiveError,
  TAR_MAGIC,
  TAR_MAGIC_OFFSET,
} from './archive-check.js';
export { batchIdForSourceFile, type SourceFileIdentity } from './source-batch-id.js';
export { BatchRegistrar, type VerifiedArchive, type Registration } from './batch-registrar.js';
export {
  ArchiveIngester,
  ArchiveConflictError,
  UploadVerificationError,
  type ArchiveIngesterOptions,
  type IngestOptions,
  type IngestResult,
} from './archive-ingester.js';
export {
  openTransferContext,
  type TransferContext,
  type TransferContextOptions,
} from './transfer-context.js';
export { StabilityTracker, nameWithBatchId, type ListedFile } from './stability-tracker.js';
export { SftpSession, HostKeyMismatchError, hostKeyFingerprint } from './sftp-session.js';
export { SftpSource, type SftpSourceOptions, type SftpPollResult, type SftpIngested } from './sftp-source.js';
export {
  InboxSource,
  DONE_SUBDIR,
  REJECTED_SUBDIR,
  type InboxSourceOptions,
  type InboxPollResult,
  type InboxIngested,
} from './inbox-source.js';
export {
  replayBatch,
  ReplayError,
  type ReplayDeps,
  type ReplayOptions,
  type ReplayResult,
} from './replay.js';
export { PendingUploads, type PendingUpload } from './pending-uploads.js';
export {
  PresignedUploads,
  UploadRequestError,
  beginUploadRequest,
  completeUploadRequest,
  partUrlsRequest,
  type UploadCaller,
  type UploadStatus,
  type ArchiveDownload,
  type PresignedUploadsOptions,
  type BeginUploadRequest,
  type BeginUploadResponse,
  type CompleteUploadRequest,
  type CompleteUploadResponse,
  type PresignedPart,
} from './presigned-uploads.js';
export {
  UploadClients,
  hashToken,
  TOKEN_PREFIX,
  SHARED_TOKEN_CLIENT,
  type AuthenticatedClient,
  type Authentication,
} from './upload-clients.js';
export { pushArchive, PushError, type PushOptions, type PushResult } from './push-client.js';
export {
  defaultPushStatePath,
  loadPushState,
  savePushState,
  removePushState,
  type PushState,
} from './push-state.js';
export { ClientRateLimit, type RateDecision } from './client-rate-limit.js';
export {
  createUploadApi,
  startUploadApi,
  type UploadApiOptions,
  type RunningUploadApi,
} from './upload-api.js';
export {
  startTransferApp,
  TRANSFER_VERSION,
  type TransferApp,
  type TransferAppOptions,
} from './transfer-app.js';
export { buildCli, serve, CliUsageError } from './cli-program.js';
export { MultipartJanitor } from './multipart-janitor.js';
export {
  StorageAudit,
  StorageAuditJanitor,
  formatAuditReport,
  INCONSISTENCY_KINDS,
  QUARANTINE_PREFIX,
  type AuditReport,
  type Finding,
  type InconsistencyKind,
  type StorageAuditOptions,
} from './storage-audit.js';
