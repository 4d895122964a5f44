export { ConfigError, describeListenError, readEnv, runMain } from './read-env.js';
export { envVar, booleanFromEnv, integerFromEnv, bytesFromEnv, durationFromEnv } from './env-var.js';
