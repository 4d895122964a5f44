export { archiveKey, processedOpusKey, modelKey, assertSafeKey, assertSafePrefix } from './keys.js';
export {
  InvalidKeyError,
  ScratchEscapeError,
  InsufficientScratchError,
  ChecksumMismatchError,
  MissingChecksumError,
  SourceChangedError,
  ObjectExistsError,
} from './errors.js';
export {
  readStorageConfig,
  DEFAULT_TRANSFER_SETTINGS,
  MIN_PART_SIZE,
  MAX_SINGLE_PUT_SIZE,
  type StorageConfig,
} from './storage-config.js';
export { createS3Client } from './s3-client.js';
export { isTransientStorageError, retryTransient, type RetryOptions } from './transient-errors.js';
export {
  ObjectStore,
  type StorageMetrics,
  type TransferSettings,
  type ObjectStoreOptions,
  type ObjectHead,
  type PutResult,
  type PutFileOptions,
  type ListedObject,
  type ListPage,
  type AbortedUpload,
} from './object-store.js';
export {
  ArchiveUploader,
  planParts,
  type ArchiveUploaderOptions,
  type ArchiveUploadOptions,
  type ArchiveUploadResult,
} from './archive-uploader.js';
export type { TransferProgress } from './transfer-progress.js';
export {
  downloadVerified,
  openVerifiedStream,
  type VerifiedDownloadOptions,
  type VerifiedDownloadResult,
} from './verified-download.js';
export { ScratchManager, type ScratchManagerOptions } from './scratch-manager.js';
export { digestFile, type FileDigest } from './file-digest.js';
export {
  checkModelName,
  checkModelVersion,
  listPublishedModels,
  modelManifestKey,
  modelManifestSchema,
  parseModelManifest,
  readPublishedManifest,
  ModelManifestError,
  MANIFEST_FILE,
  type ModelFile,
  type ModelManifest,
  type PublishedModelVersion,
} from './model-manifest.js';
export {
  publishModel,
  listModelFiles,
  ModelSourceError,
  type PublishModelOptions,
  type PublishModelResult,
} from './model-publisher.js';
export {
  syncModel,
  installedModels,
  ModelSyncError,
  VERSIONS_DIR,
  type InstalledModel,
  type SyncModelOptions,
  type SyncModelResult,
} from './model-sync.js';
