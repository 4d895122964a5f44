import { jestConfig } from '../../jest.preset.js';

// Real Redis, PostgreSQL and S3 from the local-services setup.
export default jestConfig({
  globalSetup: '@audio/local-services/jest-global-setup',
  globalTeardown: '@audio/local-services/jest-global-teardown',
});
