import { jestConfig } from '../../jest.preset.js';

export default jestConfig({
  globalSetup: '@audio/local-services/jest-global-setup',
  globalTeardown: '@audio/local-services/jest-global-teardown',
  // The first run builds the migrated template database (prisma migrate deploy, ~12 s).
  testTimeout: 60_000,
});
