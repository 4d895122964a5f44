import { jestConfig } from '../../jest.preset.js';

// The worker instrumentation test runs a real BullMQ worker: Redis from the local-services setup.
export default jestConfig({
  globalSetup: '@audio/local-services/jest-global-setup',
  globalTeardown: '@audio/local-services/jest-global-teardown',
});
