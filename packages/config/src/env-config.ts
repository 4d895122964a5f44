import { z } from 'zod';
import { envVar } from './env-var.js';

/** One config field: the variable it is read from, its schema, and the example an error shows. */
export interface EnvField<T extends z.ZodType = z.ZodType> {
  variable: string;
  schema: T;
}

export function fromEnv<T extends z.ZodType>(variable: string, schema: T, example: string): EnvField<T> {
  return { variable, schema: envVar(schema, example) };
}

type ConfigOf<F extends Record<string, EnvField>> = { [K in keyof F]: z.output<F[K]['schema']> };

/**
 * A package's config as one zod schema: each field names its variable once, next to its schema and
 * example; `readEnv` validates the variables and hands back the fields, typed as
 * `z.output<typeof schema>`. Values derived from several fields: `.transform()` on the result.
 */
export function envConfig<F extends Record<string, EnvField>>(fields: F) {
  const shape: Record<string, z.ZodType> = {};
  for (const field of Object.values(fields)) shape[field.variable] = field.schema;
  return z.object(shape).transform((env) => {
    const config: Record<string, unknown> = {};
    for (const [name, field] of Object.entries(fields)) config[name] = env[field.variable];
    return config as ConfigOf<F>;
  });
}
