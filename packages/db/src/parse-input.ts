import type { z } from 'zod';
import { DbInputError } from './errors.js';

/** Validates a repository's input; the error names the operation, the field and the reason. */
export function parseInput<S extends z.ZodType>(schema: S, value: unknown, operation: string): z.output<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issue = result.error.issues[0]!;
  const field = issue.path.join('.') || '(input)';
  throw new DbInputError(field, `${operation}: ${field} ${issue.message}`);
}
