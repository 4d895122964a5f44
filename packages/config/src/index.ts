export { ConfigError, describeListenError, readEnv, runMain, type EnvSchema } from './read-env.js';
export { envVar, booleanFromEnv, integerFromEnv, bytesFromEnv, durationFromEnv } from './env-var.js';
export { envConfig, fromEnv, type EnvField } from './env-config.js';
