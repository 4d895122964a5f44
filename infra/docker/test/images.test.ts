// What can be checked of the images and the compose file without a Docker engine (none here): the
// compose file against the compose-spec schema (dclint), the Dockerfiles with the Docker language
// server's validator (dockerfile-utils), and that their steps are the project's own scripted steps.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from '@jest/globals';
import { validate } from 'dockerfile-utils';
import { parse } from 'yaml';

const here = path.dirname(fileURLToPath(import.meta.url));
const dockerDir = path.resolve(here, '..');
const repo = path.resolve(dockerDir, '../..');
const run = promisify(execFile);

interface Service {
  image?: string;
  command?: string[];
  environment?: Record<string, string>;
  volumes?: string[];
  ports?: string[];
  profiles?: string[];
  depends_on?: Record<string, { condition: string }>;
  deploy?: { resources: { reservations: { devices: { driver: string; capabilities: string[] }[] } } };
}

const compose = () =>
  parse(fs.readFileSync(path.join(dockerDir, 'compose.yaml'), 'utf8'), { merge: true }) as {
    services: Record<string, Service>;
  };

const dclint = (file: string) =>
  run(path.join(dockerDir, 'node_modules/.bin/dclint'), ['-q', '-c', '.dclintrc.yaml', file], {
    cwd: dockerDir,
  }).then(
    () => ({ code: 0, out: '' }),
    (error: { code: number; stdout: string }) => ({ code: error.code, out: error.stdout }),
  );

describe('compose.yaml', () => {
  it('is a valid compose file (compose-spec schema, merge keys resolved) and the validator bites', async () => {
    expect(await dclint('compose.yaml')).toEqual({ code: 0, out: '' });
    const broken = path.join(dockerDir, '.build', 'broken-compose.yaml');
    fs.mkdirSync(path.dirname(broken), { recursive: true });
    fs.writeFileSync(
      broken,
      fs
        .readFileSync(path.join(dockerDir, 'compose.yaml'), 'utf8')
        .replace('stop_grace_period', 'stop_grace'),
    );
    const failed = await dclint(broken);
    expect(failed.code).not.toBe(0);
    expect(failed.out).toContain('must NOT have additional properties');
  });

  it('runs Redis as BullMQ needs it, the apps from the release image, unpack and gpu on one host', () => {
    const { services } = compose();
    expect(services.redis!.command).toEqual(
      expect.arrayContaining(['--maxmemory-policy', 'noeviction', '--appendonly', 'yes']),
    );
    for (const app of ['migrate', 'dashboard', 'transfer', 'unpack', 'gpu']) {
      expect(services[app]!.image).toBe('audio-pipeline:${PIPELINE_VERSION:-dev}');
      expect(services[app]!.command).toEqual([app]);
      expect(services[app]!.environment?.S3_ENDPOINT).toBe('http://minio:9000');
    }
    // A batch's flow lives where its files are: the same host id and the same scratch volume.
    for (const app of ['unpack', 'gpu', 'gpu-cuda']) {
      expect(services[app]!.environment?.HOST_ID).toBe('laptop');
      expect(services[app]!.volumes).toContain('scratch:/data/scratch');
      expect(services[app]!.depends_on?.migrate).toEqual({ condition: 'service_completed_successfully' });
    }
    expect(services.gpu!.environment?.SIDECAR_BACKEND).toBe('fixture');
    expect(services['gpu-cuda']!.image).toBe('audio-pipeline-gpu:${PIPELINE_VERSION:-dev}');
    expect(services['gpu-cuda']!.volumes).toContain('models:/data/models');
    expect(services['gpu-cuda']!.deploy?.resources.reservations.devices[0]).toMatchObject({
      driver: 'nvidia',
      capabilities: ['gpu'],
    });
    // Laptop passwords: nothing is published beyond loopback.
    const ports = Object.values(services).flatMap((s) => s.ports ?? []);
    expect(ports.length).toBeGreaterThan(0);
    for (const port of ports) expect(port).toMatch(/^127\.0\.0\.1:/);
  });
});

describe('Dockerfiles', () => {
  for (const file of ['Dockerfile', 'Dockerfile.gpu']) {
    it(`${file} passes the Dockerfile validator, and the validator bites`, () => {
      const text = fs.readFileSync(path.join(dockerDir, file), 'utf8');
      expect(validate(text).map((d) => `${d.range.start.line + 1}: ${d.message}`)).toEqual([]);
      expect(validate(text.replace('ENTRYPOINT', 'ENTRYPOINTS')).map((d) => d.message)).toEqual([
        'Unknown instruction: ENTRYPOINTS',
      ]);
    });
  }

  it('install the release tarball the release script writes, and run bin/audio-pipeline', () => {
    for (const file of ['Dockerfile', 'Dockerfile.gpu']) {
      const text = fs.readFileSync(path.join(dockerDir, file), 'utf8');
      expect(text).toContain('ADD audio-pipeline-${VERSION}.tar.gz /opt/audio-pipeline/releases/');
      expect(text).toContain(
        'ENTRYPOINT ["/usr/bin/tini", "--", "/opt/audio-pipeline/current/bin/audio-pipeline"]',
      );
    }
    const script = fs.readFileSync(path.join(dockerDir, 'build-images.sh'), 'utf8');
    expect(script).toContain('infra/release/build-release.sh');
    expect(script).toContain('audio-pipeline-$version.tar.gz');
  });

  it('make the GPU venv with the sidecar script and pins the hosts use', async () => {
    const text = fs.readFileSync(path.join(dockerDir, 'Dockerfile.gpu'), 'utf8');
    expect(text).toContain(
      'python3 /opt/audio-pipeline/current/apps/gpu/sidecar/make_venv.py --kind gpu --venv /opt/audio-pipeline/sidecar-venv',
    );
    expect(text).toContain('SIDECAR_PYTHON=/opt/audio-pipeline/sidecar-venv/bin/python');
    // The script accepts exactly those options (its --help, not a copy of it here).
    const { stdout } = await run('python3', [path.join(repo, 'apps/gpu/sidecar/make_venv.py'), '--help']);
    expect(stdout).toMatch(/--kind \{cpu,gpu\}/);
    expect(stdout).toContain('--venv');
  });
});
