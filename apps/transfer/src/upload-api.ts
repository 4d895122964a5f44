import crypto from 'node:crypto';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describeListenError } from '@audio/config';
import express, { type NextFunction, type Request, type Response } from 'express';
import type { Logger } from '@audio/logger';
import { UploadRequestError, type PresignedUploads } from './presigned-uploads.js';

export interface UploadApiOptions {
  uploads: PresignedUploads;
  /** Clients send `Authorization: Bearer <token>`. */
  token: string;
  logger?: Logger;
}

/**
 * The presigned upload API (express 5):
 * - `POST /uploads {filename, sizeBytes, sha256?}` → 201 with a batch id and a presigned PUT URL, or a
 *   multipart plan (part size, one presigned URL per part);
 * - `POST /uploads/:batchId/complete {uploadId?, parts?}` → 200 once the object is checked, the batch row
 *   exists and the unpack job is queued;
 * - `GET /healthz` (no token).
 * Errors are JSON `{error, message, field?}` with a 4xx status naming what was wrong.
 */
export function createUploadApi(options: UploadApiOptions): express.Express {
  if (!options.token) throw new Error('the upload API needs a token (UPLOAD_API_TOKEN)');
  const expected = digest(options.token);
  const app = express();
  app.disable('x-powered-by');
  app.get('/healthz', (_req, res) => {
    res.json({ ok: true });
  });

  const uploads = express.Router();
  uploads.use((req, res, next) => {
    const match = /^Bearer\s+(\S+)$/i.exec(req.get('authorization') ?? '');
    if (match && crypto.timingSafeEqual(digest(match[1]!), expected)) return next();
    res
      .status(401)
      .set('WWW-Authenticate', 'Bearer')
      .json({ error: 'unauthorized', message: 'send Authorization: Bearer <UPLOAD_API_TOKEN>' });
  });
  uploads.use(express.json({ limit: '1mb' }));
  uploads.post('/', async (req, res) => {
    res.status(201).json(await options.uploads.begin(req.body));
  });
  uploads.post('/:batchId/complete', async (req, res) => {
    res.json(await options.uploads.complete(String(req.params.batchId), req.body));
  });
  app.use('/uploads', uploads);

  app.use((_req, res) => {
    res.status(404).json({ error: 'not_found', message: 'no such endpoint' });
  });
  app.use((error: unknown, _req: Request, res: Response, _next: NextFunction) => {
    if (error instanceof UploadRequestError) {
      res
        .status(error.status)
        .json({ error: error.code, message: error.message, ...(error.field ? { field: error.field } : {}) });
      return;
    }
    const http = error as { status?: number; type?: string; message?: string };
    if (http.type === 'entity.parse.failed') {
      res.status(400).json({ error: 'invalid_json', message: `the body is not valid JSON: ${http.message}` });
      return;
    }
    if (typeof http.status === 'number' && http.status >= 400 && http.status < 500) {
      res.status(http.status).json({ error: 'bad_request', message: http.message ?? 'bad request' });
      return;
    }
    options.logger?.error({ err: error }, 'upload API request failed');
    res.status(500).json({ error: 'internal', message: 'internal error; see the transfer logs' });
  });
  return app;
}

export interface RunningUploadApi {
  /** `http://host:port` */
  url: string;
  port: number;
  server: Server;
  /** Stops accepting connections and waits for requests in flight; `force` cuts them off. */
  close(force?: boolean): Promise<void>;
}

/** Listens on host:port (port 0: a free one). */
export async function startUploadApi(
  options: UploadApiOptions & { host: string; port: number },
): Promise<RunningUploadApi> {
  const app = createUploadApi(options);
  const server = await new Promise<Server>((resolve, reject) => {
    const listening = app.listen(options.port, options.host, (error?: Error) =>
      error ? reject(describeListenError(error, 'UPLOAD_API_PORT', options.port)) : resolve(listening),
    );
  });
  const { port } = server.address() as AddressInfo;
  const host = options.host.includes(':') ? `[${options.host}]` : options.host;
  options.logger?.info({ host: options.host, port }, 'upload API listening');
  return {
    url: `http://${host === '0.0.0.0' ? '127.0.0.1' : host}:${port}`,
    port,
    server,
    async close(force = false) {
      if (force) server.closeAllConnections();
      if (!server.listening) return;
      // server.close() also ends idle keep-alive connections, then waits for requests in flight.
      await new Promise<void>((resolve, reject) =>
        server.close((error) => (error ? reject(error) : resolve())),
      );
    },
  };
}

function digest(value: string): Buffer {
  return crypto.createHash('sha256').update(value).digest();
}
