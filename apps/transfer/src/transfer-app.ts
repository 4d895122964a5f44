import { ConfigError } from '@audio/config';
import type { Logger } from '@audio/logger';
import { UploadClientRepository } from '@audio/db';
import { HeartbeatPublisher, resolveHostId } from '@audio/queues';
import { ObjectStore, readStorageConfig } from '@audio/storage';
import { ClientRateLimit } from './client-rate-limit.js';
import { InboxSource } from './inbox-source.js';
import { MultipartJanitor } from './multipart-janitor.js';
import { StorageAudit, StorageAuditJanitor } from './storage-audit.js';
import { PendingUploads } from './pending-uploads.js';
import { PresignedUploads } from './presigned-uploads.js';
import { SftpSource } from './sftp-source.js';
import { openTransferContext, type TransferContext } from './transfer-context.js';
import { startUploadApi, type RunningUploadApi } from './upload-api.js';
import { UploadClients } from './upload-clients.js';

export const TRANSFER_VERSION = '0.1.0';

export interface TransferAppOptions {
  env?: NodeJS.ProcessEnv;
  logger?: Logger;
  /**
   * Which parts to run; by default the configured ones: SFTP when SFTP_HOST is set, the inbox when
   * INBOX_DIR is set, the upload API unless UPLOAD_API_ENABLED=false.
   */
  sftp?: boolean;
  inbox?: boolean;
  uploadApi?: boolean;
}

export interface TransferApp {
  context: TransferContext;
  sftp?: SftpSource;
  inbox?: InboxSource;
  uploadApi?: RunningUploadApi;
  /** Stops polling and listening, waits for the file or request in progress unless `force`. */
  close(force?: boolean): Promise<void>;
}

/** Starts whatever is configured (sources, upload API) in this process; the demo embeds it. */
export async function startTransferApp(options: TransferAppOptions = {}): Promise<TransferApp> {
  const context = await openTransferContext({
    ...(options.env ? { env: options.env } : {}),
    ...(options.logger ? { logger: options.logger } : {}),
  });
  const { config, logger } = context;
  const parts: { sftp?: SftpSource; inbox?: InboxSource; uploadApi?: RunningUploadApi } = {};
  let heartbeat: HeartbeatPublisher | undefined;
  let janitor: MultipartJanitor | undefined;
  let auditJanitor: StorageAuditJanitor | undefined;
  let presigner: ObjectStore | undefined;
  try {
    const wantSftp = options.sftp ?? config.sftp !== undefined;
    const wantInbox = options.inbox ?? config.inbox !== undefined;
    const wantApi = options.uploadApi ?? config.uploadApi.enabled;
    if (wantSftp && !config.sftp)
      throw new ConfigError(
        'SFTP_HOST',
        'SFTP_HOST is required for the SFTP source; example: SFTP_HOST=ingest.example.org',
      );
    if (wantInbox && !config.inbox)
      throw new ConfigError(
        'INBOX_DIR',
        'INBOX_DIR is required for the inbox source; example: INBOX_DIR=/data/inbox',
      );
    if (!wantSftp && !wantInbox && !wantApi)
      throw new ConfigError(
        'SFTP_HOST',
        'nothing to run: set SFTP_HOST (SFTP source), INBOX_DIR (inbox) or UPLOAD_API_ENABLED=true (upload API)',
      );

    if (wantApi) {
      const { sharedToken, rateLimit, publicS3Endpoint } = config.uploadApi;
      if (publicS3Endpoint)
        presigner = ObjectStore.fromConfig({
          ...readStorageConfig(options.env ?? process.env),
          endpoint: publicS3Endpoint,
        });
      if (sharedToken)
        logger.warn(
          'UPLOAD_API_TOKEN is deprecated: it is accepted as client "shared-token" (scope upload) until unset; ' +
            'give each client its own token with `transfer clients add NAME --scope upload`',
        );
      const uploads = new PresignedUploads({
        store: context.store,
        ...(presigner ? { presigner } : {}),
        pending: new PendingUploads(context.redis, context.redisPrefix, config.uploadApi.pendingTtlSeconds),
        batches: context.batches,
        registrar: context.registrar,
        urlExpirySeconds: config.uploadApi.urlExpirySeconds,
        maxBytes: config.uploadApi.maxBytes,
        logger,
      });
      parts.uploadApi = await startUploadApi({
        uploads,
        clients: new UploadClients(new UploadClientRepository(context.db), sharedToken),
        ...(rateLimit.points > 0
          ? { rateLimit: new ClientRateLimit(context.redis, context.redisPrefix, rateLimit) }
          : {}),
        logger,
        host: config.uploadApi.host,
        port: config.uploadApi.port,
      });
    }
    if (wantSftp && config.sftp) {
      parts.sftp = new SftpSource(config.sftp, {
        ingester: context.ingester,
        tempDir: config.tempDir,
        logger,
      });
      parts.sftp.start();
    }
    if (wantInbox && config.inbox) {
      parts.inbox = new InboxSource(config.inbox, { ingester: context.ingester, logger });
      parts.inbox.start();
    }

    janitor = new MultipartJanitor(context.store, {
      olderThanMs: config.staleMultipartAfterMs,
      intervalMs: config.multipartJanitorIntervalMs,
      logger,
    });
    janitor.start();
    if (config.storageAudit) {
      auditJanitor = new StorageAuditJanitor(new StorageAudit({ ...context, logger }), {
        ...config.storageAudit,
        logger,
      });
      auditJanitor.start();
    }

    heartbeat = new HeartbeatPublisher(
      context.redis,
      context.redisPrefix,
      {
        hostId: resolveHostId(options.env ?? process.env),
        app: 'transfer',
        version: TRANSFER_VERSION,
        queues: [],
      },
      async () => ({ activeJobs: 0, freeScratchBytes: null }),
    );
    heartbeat.start();
  } catch (error) {
    janitor?.stop();
    auditJanitor?.stop();
    await Promise.all([parts.sftp?.close(true), parts.inbox?.close(true), parts.uploadApi?.close(true)]);
    presigner?.destroy();
    await context.close();
    throw error;
  }

  logger.info(
    {
      sftp: parts.sftp ? `${parts.sftp.config.host}:${parts.sftp.config.remoteDir}` : false,
      inbox: parts.inbox ? parts.inbox.config.dir : false,
      uploadApi: parts.uploadApi?.url ?? false,
    },
    'transfer app started',
  );
  let closing: Promise<void> | undefined;
  return {
    context,
    ...parts,
    async close(force = false) {
      // Forced: abort the file or request in progress (uploads resume later), then finish closing.
      if (force)
        await Promise.all([parts.sftp?.close(true), parts.inbox?.close(true), parts.uploadApi?.close(true)]);
      closing ??= (async () => {
        await Promise.all([parts.sftp?.close(), parts.inbox?.close(), parts.uploadApi?.close()]);
        janitor?.stop();
        auditJanitor?.stop();
        presigner?.destroy();
        await heartbeat?.stop();
        await context.close();
      })();
      return closing;
    },
  };
}
