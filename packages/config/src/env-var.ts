import { z } from 'zod';

/** Attaches the example printed when the variable is missing or malformed. */
export function envVar<T extends z.ZodType>(schema: T, example: string): T {
  return schema.meta({ example }) as T;
}

/** `true/false/1/0/yes/no`, case-insensitive. */
export const booleanFromEnv = z
  .string()
  .trim()
  .toLowerCase()
  .refine((v) => ['true', 'false', '1', '0', 'yes', 'no'].includes(v), 'must be true or false')
  .transform((v) => v === 'true' || v === '1' || v === 'yes');

export const integerFromEnv = (min = 0, max = Number.MAX_SAFE_INTEGER) =>
  z.coerce.number().int(`must be a whole number`).min(min).max(max);

const BYTE_UNITS: Record<string, number> = {
  '': 1,
  b: 1,
  k: 1024,
  kb: 1000,
  kib: 1024,
  m: 1024 ** 2,
  mb: 1000 ** 2,
  mib: 1024 ** 2,
  g: 1024 ** 3,
  gb: 1000 ** 3,
  gib: 1024 ** 3,
  t: 1024 ** 4,
  tb: 1000 ** 4,
  tib: 1024 ** 4,
};

/** A size such as `8MiB`, `100MB`, `2g` or plain bytes. */
export const bytesFromEnv = z.union([z.number(), z.string()]).transform((value, ctx) => {
  if (typeof value === 'number') return value;
  const match = /^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$/i.exec(value);
  const unit = match ? BYTE_UNITS[match[2]!.toLowerCase()] : undefined;
  if (!match || unit === undefined) {
    ctx.addIssue({ code: 'custom', message: 'must be a size such as 8MiB, 100MB or 1048576' });
    return z.NEVER;
  }
  return Math.round(Number(match[1]) * unit);
});

const DURATION_UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** A duration such as `500ms`, `30s`, `2h`; a bare number is milliseconds. Result in milliseconds. */
export const durationFromEnv = z.union([z.number(), z.string()]).transform((value, ctx) => {
  if (typeof value === 'number') return value;
  const match = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$/i.exec(value);
  if (!match) {
    ctx.addIssue({ code: 'custom', message: 'must be a duration such as 30s, 5m or 2h' });
    return z.NEVER;
  }
  return Math.round(Number(match[1]) * DURATION_UNITS[(match[2] ?? 'ms').toLowerCase()]!);
});
