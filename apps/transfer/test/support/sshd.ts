// A real OpenSSH server on loopback for SFTP tests: its own config, host key and authorized key in a temp
// dir, run in the foreground (`sshd -D`) on a free port, stopped by the test. Nothing system-wide changes
// except `/run/sshd`, the privilege separation directory sshd insists on when started as root.
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { execa, type ResultPromise } from 'execa';
import { freePort, requireProgram, STARTUP_DEADLINE_MS, waitForPort } from '@audio/local-services';

export interface TestSshd {
  host: string;
  port: number;
  /** The account that may log in: the user running the tests. */
  user: string;
  /** Private ed25519 key (OpenSSH format, no passphrase) authorized for `user`. */
  keyFile: string;
  /** `SHA256:…` of the server's host key, as `ssh-keygen -lf` prints it. */
  hostFingerprint: string;
  /** A directory the SFTP client can use, created for this server and removed by stop(). */
  root: string;
  /** The variables an SftpSource reads, pointing at this server and `remoteDir`. */
  env(remoteDir: string): Record<string, string>;
  stop(): Promise<void>;
}

/**
 * Starts sshd with key-only authentication for the current user and the internal SFTP server. The
 * config is private (`-f`), so the machine's own sshd settings and host keys are never touched.
 */
export async function startTestSshd(): Promise<TestSshd> {
  const sshd = await requireProgram('sshd', () => undefined);
  const sshKeygen = await requireProgram('ssh-keygen', () => undefined);
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'test-sshd-'));
  const root = path.join(dir, 'files');
  await fs.mkdir(root);
  const hostKey = path.join(dir, 'host_ed25519');
  const keyFile = path.join(dir, 'client_ed25519');
  await execa(sshKeygen, ['-q', '-t', 'ed25519', '-N', '', '-C', 'test-host', '-f', hostKey]);
  await execa(sshKeygen, ['-q', '-t', 'ed25519', '-N', '', '-C', 'test-client', '-f', keyFile]);
  const authorizedKeys = path.join(dir, 'authorized_keys');
  await fs.copyFile(`${keyFile}.pub`, authorizedKeys);
  await fs.chmod(authorizedKeys, 0o600);
  if (process.getuid?.() === 0) await fs.mkdir('/run/sshd', { recursive: true, mode: 0o755 });

  const port = await freePort();
  const user = os.userInfo().username;
  const config = path.join(dir, 'sshd_config');
  await fs.writeFile(
    config,
    [
      `ListenAddress 127.0.0.1`,
      `Port ${port}`,
      `HostKey ${hostKey}`,
      `PidFile ${path.join(dir, 'sshd.pid')}`,
      `AuthorizedKeysFile ${authorizedKeys}`,
      `AllowUsers ${user}`,
      'PermitRootLogin prohibit-password',
      'PubkeyAuthentication yes',
      'PasswordAuthentication no',
      'KbdInteractiveAuthentication no',
      'UsePAM no',
      // The temp dir is world-readable /tmp: StrictModes would refuse the authorized_keys in it.
      'StrictModes no',
      'Subsystem sftp internal-sftp',
      'LogLevel ERROR',
      '',
    ].join('\n'),
  );

  const child: ResultPromise = execa(sshd, ['-D', '-e', '-f', config], { reject: false, stdin: 'ignore' });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = child.then((result) => result);
  try {
    await Promise.race([
      waitForPort(port, STARTUP_DEADLINE_MS),
      exited.then(() => {
        throw new Error(`sshd exited during start: ${stderr.trim()}`);
      }),
    ]);
  } catch (error) {
    child.kill('SIGKILL');
    await fs.rm(dir, { recursive: true, force: true });
    throw error;
  }

  const { stdout } = await execa(sshKeygen, ['-l', '-E', 'sha256', '-f', `${hostKey}.pub`]);
  const hostFingerprint = stdout.split(' ')[1] ?? '';
  return {
    host: '127.0.0.1',
    port,
    user,
    keyFile,
    hostFingerprint,
    root,
    env: (remoteDir) => ({
      SFTP_HOST: '127.0.0.1',
      SFTP_PORT: String(port),
      SFTP_USER: user,
      SFTP_KEY_FILE: keyFile,
      SFTP_REMOTE_DIR: remoteDir,
      SFTP_HOST_FINGERPRINT: hostFingerprint,
    }),
    async stop() {
      child.kill('SIGTERM');
      await exited;
      await fs.rm(dir, { recursive: true, force: true });
    },
  };
}
