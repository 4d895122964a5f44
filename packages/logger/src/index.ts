import { pino, type Logger, type LoggerOptions } from 'pino';

export type { Logger } from 'pino';

/**
 * Paths whose values never reach a log line. Keys of S3 objects are not secret; S3 *credentials*,
 * passwords, tokens, cookies and connection strings with passwords are.
 */
export const REDACTED_PATHS = [
  'password',
  '*.password',
  'secret',
  '*.secret',
  'secretKey',
  '*.secretKey',
  'secretAccessKey',
  '*.secretAccessKey',
  'accessKeyId',
  '*.accessKeyId',
  'token',
  '*.token',
  'authorization',
  '*.authorization',
  'headers.authorization',
  'headers.cookie',
  '*.headers.authorization',
  '*.headers.cookie',
  'cookie',
  '*.cookie',
  'privateKey',
  '*.privateKey',
  'passphrase',
  '*.passphrase',
];

/** Removes the password from URLs such as `postgresql://user:pw@host/db`. */
export function redactUrl(url: string): string {
  return url.replace(/(\/\/[^:/@]+:)[^@/]+@/, '$1***@');
}

export interface CreateLoggerOptions {
  /** Component name shown on every line, e.g. `unpack` or `gpu.sidecar`. */
  name: string;
  level?: string;
  /** Force pretty (true) or JSON (false) output; by default pretty only on a terminal. */
  pretty?: boolean;
  destination?: NodeJS.WritableStream;
}

/** pino everywhere: pretty in a terminal, JSON lines otherwise (journald, docker logs, files). */
export function createLogger(options: CreateLoggerOptions): Logger {
  const level = options.level ?? process.env.LOG_LEVEL ?? 'info';
  // LOG_PRETTY=1 forces pretty lines where stdout is a pipe to a person (turbo dev); LOG_JSON=1 forces JSON.
  const pretty =
    options.pretty ??
    (process.env.LOG_PRETTY === '1' || (Boolean(process.stdout.isTTY) && !process.env.LOG_JSON));
  const base: LoggerOptions = {
    name: options.name,
    level,
    redact: { paths: REDACTED_PATHS, censor: '***' },
  };
  if (options.destination) return pino(base, options.destination as pino.DestinationStream);
  if (pretty) {
    return pino({
      ...base,
      transport: {
        target: 'pino-pretty',
        options: { colorize: true, ignore: 'pid,hostname', destination: 2 },
      },
    });
  }
  return pino(base, pino.destination(2));
}
