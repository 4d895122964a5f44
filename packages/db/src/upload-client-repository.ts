import { z } from 'zod';
import type { Db } from './db.js';
import type { UploadClient, UploadClientScope } from './generated/prisma/client.js';
import { UploadClientExistsError } from './errors.js';
import { parseInput } from './parse-input.js';

export const UPLOAD_CLIENT_SCOPES = ['upload', 'download'] as const satisfies readonly UploadClientScope[];

const clientInput = z.object({
  name: z
    .string()
    .trim()
    .regex(/^[a-z0-9][a-z0-9._-]{0,63}$/i, 'must be 1–64 letters, digits, ".", "_" or "-" (a log-safe name)'),
  scope: z.enum(UPLOAD_CLIENT_SCOPES, `must be one of ${UPLOAD_CLIENT_SCOPES.join(', ')}`),
  tokenHash: z.string().regex(/^[0-9a-f]{64}$/, 'must be a sha256 in hex'),
  tokenPrefix: z.string().min(1).max(16),
});
export type CreateUploadClientInput = z.input<typeof clientInput>;

/**
 * Clients of the upload API. The repository never sees a token, only its hash (the transfer app
 * hashes); a revoked client keeps its row, so its name cannot be given to someone else by mistake.
 */
export class UploadClientRepository {
  constructor(private readonly db: Db) {}

  async create(input: CreateUploadClientInput): Promise<UploadClient> {
    const data = parseInput(clientInput, input, 'create upload client');
    const { count } = await this.db.prisma.uploadClient.createMany({ data: [data], skipDuplicates: true });
    if (count === 0) throw new UploadClientExistsError(data.name);
    return this.db.prisma.uploadClient.findUniqueOrThrow({ where: { name: data.name } });
  }

  /** The client holding this token hash, revoked or not (the caller decides what a revoked one gets). */
  findByTokenHash(tokenHash: string): Promise<UploadClient | null> {
    return this.db.prisma.uploadClient.findUnique({ where: { tokenHash } });
  }

  findByName(name: string): Promise<UploadClient | null> {
    return this.db.prisma.uploadClient.findUnique({ where: { name } });
  }

  list(): Promise<UploadClient[]> {
    return this.db.prisma.uploadClient.findMany({ orderBy: { name: 'asc' } });
  }

  /** Revokes at once; revoking again keeps the first time. Null when there is no such client. */
  async revoke(name: string, at = new Date()): Promise<UploadClient | null> {
    await this.db.prisma.uploadClient.updateMany({
      where: { name, revokedAt: null },
      data: { revokedAt: at },
    });
    return this.findByName(name);
  }
}
