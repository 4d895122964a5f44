import { jestConfig } from '../../jest.preset.js';

// Only these folders: the sidecar's venv (sidecar/.venv) holds tens of thousands of files.
// The services (S3 for the models CLI) as in the other packages.
export default jestConfig({
  roots: ['<rootDir>/src', '<rootDir>/test', '<rootDir>/bench'],
  globalSetup: '@audio/local-services/jest-global-setup',
  globalTeardown: '@audio/local-services/jest-global-teardown',
});
