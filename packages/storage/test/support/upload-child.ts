// Runs one ArchiveUploader.upload in its own process, so a test can SIGKILL it midway.
// Usage: node --import tsx --conditions=development upload-child.ts <file> <key> <stateDir> <endpoint> <partSize> <concurrency>
// S3 credentials and bucket come from the environment (S3_*). Prints the result as one JSON line.
import { ArchiveUploader } from '../../src/index.js';
import { testStore } from './test-store.js';

const [file, key, stateDir, endpoint, partSize, concurrency] = process.argv.slice(2);
if (!file || !key || !stateDir || !endpoint || !partSize || !concurrency) {
  process.stderr.write(
    'usage: upload-child.ts <file> <key> <stateDir> <endpoint> <partSize> <concurrency>\n',
  );
  process.exit(2);
}
const store = testStore({ endpoint });
const uploader = new ArchiveUploader(store, {
  threshold: 1,
  partSize: Number(partSize),
  concurrency: Number(concurrency),
  stateDir,
});
try {
  const result = await uploader.upload(file, key);
  process.stdout.write(`${JSON.stringify(result)}\n`);
} finally {
  store.destroy();
}
