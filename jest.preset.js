// Shared jest settings: ESM TypeScript through @swc/jest (types are checked by `tsc --noEmit`, not here).
// Workspace packages resolve to their TypeScript sources through the `development` export condition.
export function jestConfig(overrides = {}) {
  return {
    testEnvironment: 'node',
    extensionsToTreatAsEsm: ['.ts'],
    transform: {
      '^.+\\.ts$': [
        '@swc/jest',
        {
          jsc: { parser: { syntax: 'typescript' }, target: 'es2022' },
          module: { type: 'es6' },
        },
      ],
    },
    moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
    testEnvironmentOptions: { customExportConditions: ['development', 'node', 'node-addons'] },
    testMatch: ['<rootDir>/test/**/*.test.ts'],
    // A deadline that only catches hangs: on a loaded, shared machine a test against real services may
    // take many times its usual time, and that is not a failure.
    testTimeout: 300_000,
    ...overrides,
  };
}
