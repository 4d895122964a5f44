import crypto from 'node:crypto';
import fs from 'node:fs/promises';
import { Client, type FileEntryWithStats, type SFTPWrapper, type Stats } from 'ssh2';
import type { SftpConfig } from './config.js';

/** SFTP status codes (draft-ietf-secsh-filexfer-02) that ssh2 puts in `error.code`. */
export const SFTP_NO_SUCH_FILE = 2;
export const SFTP_FAILURE = 4;

/** The server's host key is not the one SFTP_HOST_FINGERPRINT pins. */
export class HostKeyMismatchError extends Error {
  constructor(
    readonly host: string,
    readonly actual: string,
    readonly expected: string,
  ) {
    super(
      `host key of ${host} is ${actual}, but SFTP_HOST_FINGERPRINT expects ${expected}: refusing to connect`,
    );
    this.name = 'HostKeyMismatchError';
  }
}

/** `SHA256:…` as `ssh-keygen -lf` prints it: unpadded base64 of the sha256 of the key blob. */
export function hostKeyFingerprint(key: Buffer): string {
  return `SHA256:${crypto.createHash('sha256').update(key).digest('base64').replace(/=+$/, '')}`;
}

export function sftpErrorCode(error: unknown): number | undefined {
  const code = (error as { code?: unknown } | undefined)?.code;
  return typeof code === 'number' ? code : undefined;
}

/** One SSH connection with its SFTP channel, with promise-returning methods for what the source uses. */
export class SftpSession {
  private constructor(
    private readonly client: Client,
    private readonly sftp: SFTPWrapper,
    /** The fingerprint the server presented. */
    readonly hostFingerprint: string,
  ) {}

  /** Connects with key authentication; when config.hostFingerprint is set, any other host key is refused. */
  static async connect(config: SftpConfig): Promise<SftpSession> {
    const privateKey = await fs.readFile(config.keyFile).catch((error: NodeJS.ErrnoException) => {
      throw new Error(`cannot read SFTP_KEY_FILE ${config.keyFile}: ${error.code ?? error.message}`);
    });
    const where = `${config.host}:${config.port}`;
    const client = new Client();
    let seen = '';
    const connected = new Promise<void>((resolve, reject) => {
      client.once('ready', () => resolve());
      client.once('error', (error) =>
        reject(
          config.hostFingerprint && seen && seen !== config.hostFingerprint
            ? new HostKeyMismatchError(where, seen, config.hostFingerprint)
            : new Error(`SFTP connection to ${config.user}@${where} failed: ${error.message}`, {
                cause: error,
              }),
        ),
      );
    });
    client.connect({
      host: config.host,
      port: config.port,
      username: config.user,
      privateKey,
      ...(config.keyPassphrase ? { passphrase: config.keyPassphrase } : {}),
      readyTimeout: config.connectTimeoutMs,
      keepaliveInterval: 15_000,
      keepaliveCountMax: 4,
      hostVerifier: (key: Buffer) => {
        seen = hostKeyFingerprint(key);
        return !config.hostFingerprint || seen === config.hostFingerprint;
      },
    });
    try {
      await connected;
      const sftp = await new Promise<SFTPWrapper>((resolve, reject) =>
        client.sftp((error, channel) => (error ? reject(error) : resolve(channel))),
      );
      // Later transport errors (a dropped connection) surface as failed operations; keep them off the
      // process's unhandled 'error' path.
      client.on('error', () => undefined);
      return new SftpSession(client, sftp, seen);
    } catch (error) {
      client.end();
      throw error;
    }
  }

  readdir(dir: string): Promise<FileEntryWithStats[]> {
    return new Promise((resolve, reject) =>
      this.sftp.readdir(dir, (error, list) => (error ? reject(withPath(error, dir)) : resolve(list))),
    );
  }

  /** The file's attributes, or undefined when it does not exist. */
  stat(path: string): Promise<Stats | undefined> {
    return new Promise((resolve, reject) =>
      this.sftp.stat(path, (error, stats) => {
        if (!error) resolve(stats);
        else if (sftpErrorCode(error) === SFTP_NO_SUCH_FILE) resolve(undefined);
        else reject(withPath(error, path));
      }),
    );
  }

  /** Parallel reads into `localPath` (ssh2's fastGet); `onBytes` gets the running total. */
  download(
    remotePath: string,
    localPath: string,
    onBytes?: (done: number, total: number) => void,
  ): Promise<void> {
    return new Promise((resolve, reject) =>
      this.sftp.fastGet(
        remotePath,
        localPath,
        {
          concurrency: 64,
          chunkSize: 64 * 1024,
          ...(onBytes ? { step: (done, _n, total) => onBytes(done, total) } : {}),
        },
        (error) => (error ? reject(withPath(error, remotePath)) : resolve()),
      ),
    );
  }

  /** SFTP v3 rename: fails (instead of overwriting) when `to` exists. */
  rename(from: string, to: string): Promise<void> {
    return new Promise((resolve, reject) =>
      this.sftp.rename(from, to, (error) => (error ? reject(withPath(error, `${from} → ${to}`)) : resolve())),
    );
  }

  /** Creates the directory unless it exists. */
  async ensureDir(dir: string): Promise<void> {
    const stats = await this.stat(dir);
    if (stats?.isDirectory()) return;
    if (stats) throw new Error(`${dir} exists on the SFTP server but is not a directory`);
    await new Promise<void>((resolve, reject) =>
      this.sftp.mkdir(dir, (error) => (error ? reject(withPath(error, dir)) : resolve())),
    ).catch(async (error: unknown) => {
      // Another puller may have created it in between.
      if (!(await this.stat(dir))?.isDirectory()) throw error;
    });
  }

  close(): void {
    this.sftp.end();
    this.client.end();
  }
}

function withPath(error: Error, path: string): Error {
  const wrapped = new Error(`SFTP ${path}: ${error.message}`, { cause: error });
  return Object.assign(wrapped, { code: (error as { code?: unknown }).code });
}
