import { jestConfig } from '../../jest.preset.js';

// Only these folders: the sidecar's venv (sidecar/.venv) holds tens of thousands of files.
export default jestConfig({ roots: ['<rootDir>/src', '<rootDir>/test', '<rootDir>/bench'] });
