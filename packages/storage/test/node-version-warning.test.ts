import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from '@jest/globals';

const packageDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** The stderr of a process that makes an S3 client, as every CLI does. */
function stderrOfClientProcess(setting: string | undefined): string {
  const env: NodeJS.ProcessEnv = { ...process.env, NODE_OPTIONS: '' };
  delete env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED;
  if (setting !== undefined) env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = setting;
  const script =
    "import { createS3Client } from './src/s3-client.ts';" +
    "createS3Client({ region: 'us-east-1', forcePathStyle: true, accessKey: 'a', secretKey: 'b', " +
    'maxAttempts: 1, requestTimeoutMs: 1000 }).destroy();';
  const run = spawnSync(
    process.execPath,
    ['--conditions=development', '--import', 'tsx', '--input-type=module', '-e', script],
    {
      cwd: packageDir,
      env,
      encoding: 'utf8',
    },
  );
  expect(run.status).toBe(0);
  return run.stderr;
}

describe("the AWS SDK's Node-version warning (issue 16, bug 10)", () => {
  it('is not printed by a process that makes an S3 client, unless the environment asks for it', () => {
    expect(stderrOfClientProcess(undefined)).not.toContain('NodeVersionSupportWarning');
    // The SDK's own switch still works both ways (on Node 20 the warning is real).
    const shown = stderrOfClientProcess('false');
    if (Number(process.versions.node.split('.')[0]) < 22)
      expect(shown).toContain('NodeVersionSupportWarning');
  });
});
