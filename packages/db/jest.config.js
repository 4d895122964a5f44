import { jestConfig } from '../../jest.preset.js';

export default jestConfig({
  globalSetup: '@audio/local-services/jest-global-setup',
  globalTeardown: '@audio/local-services/jest-global-teardown',
});
