export { startTestSshd, type TestSshd } from './sshd.js';
