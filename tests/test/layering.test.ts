import path from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { ESLint } from 'eslint';

// The README's rules of the house, as the lint rule in every package's `lint` script enforces them.
const root = path.resolve(import.meta.dirname, '../..');

async function ruleIds(file: string, code: string): Promise<string[]> {
  const eslint = new ESLint({
    cwd: root,
    // Only the import rules: the type-aware ones need the file in a tsconfig project, this one is virtual.
    overrideConfig: {
      languageOptions: { parserOptions: { projectService: false } },
      rules: {
        '@typescript-eslint/no-floating-promises': 'off',
        '@typescript-eslint/no-misused-promises': 'off',
        '@typescript-eslint/no-unused-vars': 'off',
      },
    },
  });
  const [result] = await eslint.lintText(code, { filePath: path.join(root, file) });
  return result!.messages.map((m) => `${m.ruleId}: ${m.message}`);
}

describe('layering lint rule', () => {
  it('refuses a package importing an app', async () => {
    expect(await ruleIds('packages/queues/src/probe.ts', "export * from '@audio/gpu';\n")).toEqual(
      expect.arrayContaining([expect.stringMatching(/^no-restricted-imports: .*packages never import apps/)]),
    );
  });

  it('refuses an app importing another app, or what its package.json does not declare', async () => {
    const messages = await ruleIds(
      'apps/unpack/src/probe.ts',
      "export * from '@audio/transfer';\nexport * from 'express';\nexport * from '@audio/fixtures';\n",
    );
    expect(messages).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^no-restricted-imports: .*apps never import each other/),
        expect.stringMatching(/^import-x\/no-extraneous-dependencies: 'express' should be listed/),
        expect.stringMatching(
          /^import-x\/no-extraneous-dependencies: '@audio\/fixtures' .*not devDependencies/,
        ),
      ]),
    );
  });

  it('refuses a relative path into another package', async () => {
    expect(await ruleIds('packages/queues/src/probe.ts', "export * from '../../db/src/index.js';\n")).toEqual(
      [expect.stringMatching(/^import-x\/no-relative-packages: /)],
    );
  });

  it('lets an app import the packages it declares', async () => {
    expect(
      await ruleIds(
        'apps/unpack/src/probe.ts',
        "export * from '@audio/queues';\nexport * from 'tar-stream';\n",
      ),
    ).toEqual([]);
  });
});
