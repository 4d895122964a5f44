import { jestConfig } from '../../jest.preset.js';

// Real Redis, Postgres and S3 (Swift) from the local-services global setup.
export default jestConfig({
  globalSetup: '@audio/local-services/jest-global-setup',
  globalTeardown: '@audio/local-services/jest-global-teardown',
});
