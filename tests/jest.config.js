import { jestConfig } from '../jest.preset.js';

// End-to-end suites start several apps and sidecars each: one suite at a time on a 2-core machine.
export default jestConfig({
  globalSetup: '@audio/local-services/jest-global-setup',
  globalTeardown: '@audio/local-services/jest-global-teardown',
  maxWorkers: 1,
  // Deadlines catch hangs only; the waits inside (support/wait.ts, batch-state.ts) give up first, with a message.
  testTimeout: 600_000,
});
