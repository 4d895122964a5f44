import { jestConfig } from '../../jest.preset.js';

// Real Redis, Postgres and S3 (Swift) from the local-services global setup; the browser test runs the
// whole pipeline in-process, hence the long timeout.
export default jestConfig({
  globalSetup: '@audio/local-services/jest-global-setup',
  globalTeardown: '@audio/local-services/jest-global-teardown',
  testTimeout: 60_000,
});
