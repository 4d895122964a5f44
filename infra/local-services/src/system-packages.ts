import fs from 'node:fs';
import { execa } from 'execa';

/** Debian packages that provide the programs local services and fixtures need. */
export const DEBIAN_PACKAGES: Record<string, string> = {
  'redis-server': 'redis-server',
  'swift-proxy-server': 'swift swift-proxy swift-account swift-container swift-object',
  ffmpeg: 'ffmpeg',
  'espeak-ng': 'espeak-ng',
  lame: 'lame',
};

export function findProgram(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(':').concat(['/usr/sbin', '/usr/bin', '/sbin'])) {
    const candidate = `${dir}/${name}`;
    try {
      fs.accessSync(candidate, fs.constants.X_OK);
      return candidate;
    } catch {
      // keep looking
    }
  }
  return undefined;
}

let aptUpdated = false;

/**
 * Returns the path of a program, installing its Debian package first when it is missing and we
 * are root on a Debian-like system. Otherwise fails with the command a person should run.
 */
export async function requireProgram(name: string, log: (line: string) => void): Promise<string> {
  const found = findProgram(name);
  if (found) return found;
  const pkg = DEBIAN_PACKAGES[name] ?? name;
  const canInstall = process.getuid?.() === 0 && findProgram('apt-get') !== undefined;
  if (!canInstall) {
    throw new Error(`${name} is not installed; install it with: sudo apt-get install -y ${pkg}`);
  }
  log(`${name} is missing: installing Debian package(s) ${pkg}`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  if (!aptUpdated) {
    await execa('apt-get', ['update', '-qq'], { env });
    aptUpdated = true;
  }
  await execa('apt-get', ['install', '-y', '-qq', ...pkg.split(' ')], { env });
  const installed = findProgram(name);
  if (!installed) throw new Error(`installed ${pkg} but ${name} is still not on PATH`);
  return installed;
}
