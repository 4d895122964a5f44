// How fast the SFTP source pulls a file from sshd on loopback, against OpenSSH's own sftp client in the
// same run (the baseline). `pnpm --filter @audio/transfer bench [MiB]` (default 256).
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { readTransferConfig, SftpSession } from '../src/index.js';
import { startTestSshd } from '../test/support/index.js';

const MiB = 1024 * 1024;
const sizeMiB = Number(process.argv[2] ?? 256);

async function time(fn: () => Promise<void>): Promise<number> {
  const start = performance.now();
  await fn();
  return (performance.now() - start) / 1000;
}

const sshd = await startTestSshd();
const local = await fs.mkdtemp(path.join(os.tmpdir(), 'sftp-bench-'));
try {
  const remote = path.join(sshd.root, 'bench.tar');
  const handle = await fs.open(remote, 'w');
  const block = Buffer.alloc(MiB);
  for (let i = 0; i < sizeMiB; i++) {
    block.fill(i & 0xff);
    block.writeUInt32LE(i, 0);
    await handle.write(block);
  }
  await handle.close();
  const config = readTransferConfig(sshd.env(sshd.root)).sftp!;

  const rows: [string, number][] = [];
  const baseline = await time(async () => {
    await execa('sftp', [
      '-q',
      '-P',
      String(sshd.port),
      '-i',
      sshd.keyFile,
      '-o',
      'StrictHostKeyChecking=no',
      '-o',
      'UserKnownHostsFile=/dev/null',
      '-b',
      '-',
      `${sshd.user}@127.0.0.1:${remote}`,
      path.join(local, 'openssh.tar'),
    ]);
  });
  rows.push(['OpenSSH sftp client (baseline)', baseline]);
  const session = await SftpSession.connect(config);
  try {
    rows.push([
      'SftpSession.download (ssh2 fastGet)',
      await time(() => session.download(remote, path.join(local, 'ssh2.tar'))),
    ]);
  } finally {
    session.close();
  }
  const same = (await fs.stat(path.join(local, 'ssh2.tar'))).size === sizeMiB * MiB;
  process.stdout.write(
    `SFTP download of ${sizeMiB} MiB from sshd on loopback (${os.availableParallelism()} cores)\n`,
  );
  for (const [name, seconds] of rows)
    process.stdout.write(
      `  ${name.padEnd(40)} ${((sizeMiB * MiB) / 1e6 / seconds).toFixed(1).padStart(7)} MB/s  ` +
        `×${(baseline / seconds).toFixed(2)} of baseline\n`,
    );
  if (!same) throw new Error('the ssh2 download has the wrong size');
} finally {
  await sshd.stop();
  await fs.rm(local, { recursive: true, force: true });
}
