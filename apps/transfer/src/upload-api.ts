import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describeListenError } from '@audio/config';
import express, { type NextFunction, type Request, type Response } from 'express';
import type { Logger } from '@audio/logger';
import type { ClientRateLimit } from './client-rate-limit.js';
import { UploadRequestError, type PresignedUploads } from './presigned-uploads.js';
import type { AuthenticatedClient, UploadClients } from './upload-clients.js';

export interface UploadApiOptions {
  uploads: PresignedUploads;
  /** Checks `Authorization: Bearer <token>` against the clients' hashed tokens. */
  clients: Pick<UploadClients, 'authenticate'>;
  /** Requests per client and window; unset: no limit. */
  rateLimit?: Pick<ClientRateLimit, 'take'>;
  logger?: Logger;
}

interface RequestContext {
  client: AuthenticatedClient;
  /** The app's logger with the client's name on every line. */
  log?: Logger;
}

/**
 * The presigned upload API (express 5). Every `/uploads` route needs a client's bearer token; scope
 * `upload` may begin, complete and look at its own uploads, scope `download` (operators) may look at
 * any upload and download completed archives.
 * - `POST /uploads {filename, sizeBytes, sha256?, multipart?}` → 201 with a batch id and a presigned PUT
 *   URL, or a multipart plan (part size, one presigned URL per part);
 * - `POST /uploads/:batchId/parts {partNumbers}` → fresh URLs for those parts (a resumed upload);
 * - `GET /uploads/:batchId` → status: state, parts and bytes S3 has;
 * - `POST /uploads/:batchId/complete {uploadId?, parts?}` → 200 once the object is checked, the batch row
 *   exists and the unpack job is queued;
 * - `GET /uploads/:batchId/download` → a presigned GET of the archive (scope download);
 * - `GET /healthz` (no token).
 * Errors are JSON `{error, message, field?}` with a 4xx status naming what was wrong; over its rate, a
 * client gets 429 with `Retry-After`.
 */
export function createUploadApi(options: UploadApiOptions): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.get('/healthz', (_req, res) => {
    res.json({ ok: true });
  });

  const uploads = express.Router();
  uploads.use(async (req, res, next) => {
    const match = /^Bearer\s+(\S+)$/i.exec(req.get('authorization') ?? '');
    const auth = match ? await options.clients.authenticate(match[1]!) : undefined;
    if (!auth?.ok) {
      options.logger?.warn(
        {
          method: req.method,
          path: req.path,
          ip: req.ip,
          reason: auth?.reason ?? 'no bearer token',
          client: auth?.name,
        },
        'upload API request refused: bad token',
      );
      res
        .status(401)
        .set('WWW-Authenticate', 'Bearer')
        .json(
          auth?.reason === 'revoked'
            ? { error: 'token_revoked', message: 'this token was revoked; ask the operators for a new one' }
            : {
                error: 'unauthorized',
                message: 'send Authorization: Bearer <token> with a valid client token',
              },
        );
      return;
    }
    const log = options.logger?.child({ client: auth.client.name });
    res.locals.request = { client: auth.client, ...(log ? { log } : {}) } satisfies RequestContext;
    const started = performance.now();
    res.on('finish', () => {
      log?.info(
        {
          method: req.method,
          path: req.originalUrl,
          status: res.statusCode,
          ms: Math.round(performance.now() - started),
        },
        'upload API request',
      );
    });
    if (options.rateLimit) {
      const decision = await options.rateLimit.take(auth.client.name);
      if (!decision.ok) {
        res
          .status(429)
          .set('Retry-After', String(decision.retryAfterSeconds))
          .json({
            error: 'rate_limited',
            message: `too many requests from ${auth.client.name}; retry after ${decision.retryAfterSeconds} s`,
          });
        return;
      }
    }
    next();
  });
  uploads.use(express.json({ limit: '1mb' }));
  const scoped =
    (
      scope: AuthenticatedClient['scope'],
      handler: (req: Request, res: Response, ctx: RequestContext) => Promise<void>,
    ) =>
    async (req: Request, res: Response) => {
      const ctx = res.locals.request as RequestContext;
      if (ctx.client.scope !== scope)
        throw new UploadRequestError(
          403,
          'wrong_scope',
          `this needs a client with scope ${scope}; ${ctx.client.name} has scope ${ctx.client.scope}`,
        );
      await handler(req, res, ctx);
    };
  const id = (req: Request) => String(req.params.batchId);
  uploads.post(
    '/',
    scoped('upload', async (req, res, ctx) => {
      res.status(201).json(await options.uploads.begin(req.body, ctx.client));
    }),
  );
  uploads.post(
    '/:batchId/parts',
    scoped('upload', async (req, res, ctx) => {
      res.json(await options.uploads.partUrls(id(req), req.body, ctx.client));
    }),
  );
  uploads.post(
    '/:batchId/complete',
    scoped('upload', async (req, res, ctx) => {
      res.json(await options.uploads.complete(id(req), req.body, ctx.client, ctx.log));
    }),
  );
  uploads.get('/:batchId', async (req, res) => {
    res.json(await options.uploads.status(id(req), (res.locals.request as RequestContext).client));
  });
  uploads.get(
    '/:batchId/download',
    scoped('download', async (req, res) => {
      res.json(await options.uploads.download(id(req)));
    }),
  );
  app.use('/uploads', uploads);

  app.use((_req, res) => {
    res.status(404).json({ error: 'not_found', message: 'no such endpoint' });
  });
  app.use((error: unknown, _req: Request, res: Response, _next: NextFunction) => {
    const log = (res.locals.request as RequestContext | undefined)?.log ?? options.logger;
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
    log?.error({ err: error }, 'upload API request failed');
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
