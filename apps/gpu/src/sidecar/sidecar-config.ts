import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { durationFromEnv, envVar, integerFromEnv, readEnv } from '@audio/config';

/** The Python package's directory (apps/gpu/sidecar), the same from src/ and from dist/. */
export const SIDECAR_DIR = fileURLToPath(new URL('../../sidecar', import.meta.url));

/** The venv the project makes (`apps/gpu/sidecar/make_venv.py`, run by bootstrap.sh and `pnpm test`). */
export const SIDECAR_VENV_PYTHON = path.join(SIDECAR_DIR, '.venv', 'bin', 'python');

/**
 * The interpreter when SIDECAR_PYTHON is unset: the project's venv when it exists (it holds the real
 * backends' packages and pytest), else `python3` from PATH, which is enough for the fixture backend.
 */
export function defaultSidecarPython(): string {
  return fs.existsSync(SIDECAR_VENV_PYTHON) ? SIDECAR_VENV_PYTHON : 'python3';
}

export const SIDECAR_BACKENDS = ['whisperx-cope', 'fixture'] as const;
export type SidecarBackend = (typeof SIDECAR_BACKENDS)[number];

export const DEFAULTS = {
  args: ['-m', 'audio_sidecar'],
  readyTimeoutMs: 300_000,
  // A batch of long recordings through WhisperX and CoPE-A can take minutes on a busy GPU.
  requestTimeoutMs: 600_000,
  maxRequestAttempts: 3,
  maxCrashes: 5,
  crashWindowMs: 180_000,
  restartBackoff: { initialMs: 1_000, maxMs: 30_000 },
  shutdownGraceMs: 10_000,
  maxInFlight: 2,
} as const;

export const sidecarEnvSchema = z.object({
  SIDECAR_PYTHON: envVar(z.string().min(1).optional(), '/opt/audio-pipeline/sidecar-venv/bin/python'),
  SIDECAR_BACKEND: envVar(z.enum(SIDECAR_BACKENDS).default('whisperx-cope'), 'fixture'),
  MODELS_ROOT: envVar(z.string().min(1).default('/data/models'), '/data/models'),
  SIDECAR_READY_TIMEOUT: envVar(durationFromEnv.default(DEFAULTS.readyTimeoutMs), '300s'),
  SIDECAR_REQUEST_TIMEOUT: envVar(durationFromEnv.default(DEFAULTS.requestTimeoutMs), '10m'),
  SIDECAR_MAX_CRASHES: envVar(integerFromEnv(1, 1000).default(DEFAULTS.maxCrashes), '5'),
});

export type SidecarEnv = z.output<typeof sidecarEnvSchema>;

export function readSidecarEnv(env: Record<string, string | undefined> = process.env): SidecarEnv {
  return readEnv(sidecarEnvSchema, env);
}
