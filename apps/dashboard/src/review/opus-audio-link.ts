import type { Logger } from '@audio/logger';
import type { ObjectStore } from '@audio/storage';

/** A presigned URL of a file's Opus copy, or why there is none to play (the review and file pages). */
export async function opusAudioLink(
  options: { store: ObjectStore; ttlSeconds: number; logger: Logger },
  file: { audioFileId: string; s3OpusPath: string | null },
): Promise<{ url: string } | { problem: string }> {
  const { store, logger } = options;
  if (!file.s3OpusPath) return { problem: 'no Opus copy has been stored for it yet' };
  try {
    if (!(await store.exists(file.s3OpusPath))) {
      logger.warn({ audioFileId: file.audioFileId, key: file.s3OpusPath }, 'Opus object missing');
      return { problem: `its Opus copy (${file.s3OpusPath}) is missing from storage` };
    }
    return { url: await store.presignGet(file.s3OpusPath, options.ttlSeconds) };
  } catch (error) {
    return { problem: `storage did not answer (${(error as Error).message})` };
  }
}
