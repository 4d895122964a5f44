import type { z } from 'zod';

/** A configuration problem, with a message that names the variable and shows an example. */
export class ConfigError extends Error {
  constructor(
    readonly variable: string,
    message: string,
  ) {
    super(message);
    this.name = 'ConfigError';
  }
}

type Env = Record<string, string | undefined>;

/**
 * Validates one package's slice of the environment. Empty strings count as unset so that
 * `FOO=` in a compose file falls back to the default instead of failing validation.
 */
export function readEnv<S extends z.ZodObject>(schema: S, env: Env = process.env): z.output<S> {
  const input: Record<string, string> = {};
  for (const key of Object.keys(schema.shape)) {
    const value = env[key];
    if (value !== undefined && value !== '') input[key] = value;
  }
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  const issue = result.error.issues[0]!;
  const variable = String(issue.path[0] ?? '?');
  const field = schema.shape[variable] as z.ZodType | undefined;
  const example = (field?.meta() as { example?: string } | undefined)?.example;
  const given = input[variable];
  const what =
    given === undefined
      ? 'is required but not set'
      : `is invalid (${JSON.stringify(given)}): ${issue.message}`;
  throw new ConfigError(variable, `${variable} ${what}${example ? `; example: ${variable}=${example}` : ''}`);
}

/**
 * Runs a program's main function; a ConfigError ends it with one line on stderr and exit code 2,
 * anything else with the error and exit code 1.
 */
export function runMain(main: () => Promise<unknown>): void {
  main().catch((error: unknown) => {
    if (error instanceof ConfigError) {
      process.stderr.write(`configuration error: ${error.message}\n`);
      process.exit(2);
    }
    process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  });
}

/**
 * A server's listen error as a configuration problem when the port is taken or not ours to bind: one
 * line naming the variable, not a stack trace. Other errors pass through unchanged.
 */
export function describeListenError(error: unknown, variable: string, port: number): unknown {
  const code = (error as { code?: string } | undefined)?.code;
  if (code === 'EADDRINUSE') {
    return new ConfigError(
      variable,
      `${variable} ${port} is already in use by another program; stop it or choose another port, e.g. ${variable}=${port + 1}`,
    );
  }
  if (code === 'EACCES') {
    return new ConfigError(
      variable,
      `${variable} ${port} needs privileges to bind; choose a port above 1023`,
    );
  }
  return error;
}
