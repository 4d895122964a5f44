import type { RedisClient } from '@audio/queues';
import { z } from 'zod';

const pendingUploadSchema = z.object({
  batchId: z.string(),
  archiveKey: z.string(),
  filename: z.string(),
  sizeBytes: z.number().int().positive(),
  sha256: z.string().optional(),
  /** The upload API client that began it; only it (or a download-scope client) may see or complete it. */
  client: z.string().optional(),
  /** Set for multipart uploads. */
  multipart: z
    .object({
      uploadId: z.string(),
      partSize: z.number().int().positive(),
      partCount: z.number().int().positive(),
    })
    .optional(),
  createdAt: z.string(),
});

/** What POST /uploads promised, kept until /complete (or until it expires). */
export type PendingUpload = z.infer<typeof pendingUploadSchema>;

/**
 * Pending presigned uploads in Redis, one JSON value per batch id with a TTL: an upload that is never
 * completed disappears by itself (its multipart upload, if any, is aborted by the storage janitor).
 */
export class PendingUploads {
  constructor(
    private readonly redis: RedisClient,
    private readonly prefix: string,
    private readonly ttlSeconds: number,
  ) {}

  private key(batchId: string): string {
    return `${this.prefix}:transfer:upload:${batchId}`;
  }

  async save(upload: PendingUpload): Promise<void> {
    await this.redis.set(this.key(upload.batchId), JSON.stringify(upload), 'EX', this.ttlSeconds);
  }

  async get(batchId: string): Promise<PendingUpload | undefined> {
    const text = await this.redis.get(this.key(batchId));
    if (text === null) return undefined;
    const parsed = pendingUploadSchema.safeParse(JSON.parse(text));
    return parsed.success ? parsed.data : undefined;
  }

  async remove(batchId: string): Promise<void> {
    await this.redis.del(this.key(batchId));
  }

  /**
   * A short lock so that two /complete calls for one upload do not run at once (the second answers
   * 409 and can simply retry). Returns a release function, or undefined when someone holds it.
   */
  async lock(batchId: string, ttlSeconds: number): Promise<(() => Promise<void>) | undefined> {
    const key = `${this.key(batchId)}:lock`;
    const token = `${process.pid}-${Math.random().toString(36).slice(2)}`;
    const ok = await this.redis.set(key, token, 'EX', ttlSeconds, 'NX');
    if (ok !== 'OK') return undefined;
    return async () => {
      // Release only our own lock (it may have expired and been taken by another call).
      await this.redis.eval(
        "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end",
        1,
        key,
        token,
      );
    };
  }
}
