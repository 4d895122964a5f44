// One flat config for the whole monorepo; each package runs `eslint .` from its own folder.
import fs from 'node:fs';
import path from 'node:path';
import js from '@eslint/js';
import { createNodeResolver, importX } from 'eslint-plugin-import-x';
import tseslint from 'typescript-eslint';

const root = import.meta.dirname;

/** The workspace packages of a folder (`apps`, `packages`), by folder and by package name. */
function workspaces(folder) {
  return fs
    .readdirSync(path.join(root, folder), { withFileTypes: true })
    .filter((d) => d.isDirectory() && fs.existsSync(path.join(root, folder, d.name, 'package.json')))
    .map((d) => ({
      dir: `${folder}/${d.name}`,
      name: JSON.parse(fs.readFileSync(path.join(root, folder, d.name, 'package.json'), 'utf8')).name,
    }));
}

const apps = workspaces('apps');
const allWorkspaces = ['apps', 'packages', 'tools', 'infra']
  .flatMap(workspaces)
  .concat(fs.existsSync(path.join(root, 'tests/package.json')) ? [{ dir: 'tests', name: '' }] : []);
const DEV_FILES = ['**/test/**', '**/bench/**', '**/jest/**', '**/*.config.{js,ts}', 'jest.preset.js'];

const noImport = (names, why) => ({
  'no-restricted-imports': [
    'error',
    { patterns: [{ group: names.flatMap((n) => [n, `${n}/*`]), message: why }] },
  ],
});

export default tseslint.config(
  {
    ignores: [
      '**/dist/**',
      '**/node_modules/**',
      '**/generated/**',
      '**/coverage/**',
      '**/.turbo/**',
      '**/.venv*/**',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: root },
    },
    rules: {
      // Un-awaited promises lose errors in queue workers; make them explicit (`void` or await).
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: { arguments: false } }],
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  // The layering of the README, enforced: every import names a dependency its own package.json
  // declares (devDependencies only in tests, benchmarks and config files), no relative path reaches
  // into another package, packages never import apps, and apps never import each other.
  {
    files: ['**/*.ts', '**/*.js'],
    plugins: { 'import-x': importX },
    settings: {
      // Workspace packages resolve to their sources, as tsc and jest see them.
      'import-x/resolver-next': [
        createNodeResolver({
          conditionNames: ['development', 'types', 'import', 'node', 'default'],
          extensionAlias: { '.js': ['.ts', '.js'] },
        }),
      ],
    },
    rules: {
      'import-x/no-extraneous-dependencies': ['error', { devDependencies: DEV_FILES, includeTypes: true }],
      'import-x/no-relative-packages': 'error',
    },
  },
  // A workspace's own package.json, plus the root's for the shared tooling (jest, @jest/globals).
  ...allWorkspaces.map((w) => ({
    files: [`${w.dir}/**/*.{ts,js}`],
    rules: {
      'import-x/no-extraneous-dependencies': [
        'error',
        { devDependencies: DEV_FILES, includeTypes: true, packageDir: [path.join(root, w.dir), root] },
      ],
    },
  })),
  // jest configs share the root's preset.
  { files: ['**/jest.config.js'], rules: { 'import-x/no-relative-packages': 'off' } },
  {
    files: ['packages/**/*.ts'],
    rules: noImport(
      apps.map((a) => a.name),
      'packages never import apps (see the README)',
    ),
  },
  ...apps.map((app) => ({
    files: [`${app.dir}/**/*.ts`],
    rules: noImport(
      apps.filter((a) => a !== app).map((a) => a.name),
      'apps never import each other: share code through a package',
    ),
  })),
  {
    files: ['**/*.js', '**/*.mjs', '**/*.cjs'],
    languageOptions: { globals: { process: 'readonly', console: 'readonly', URL: 'readonly' } },
  },
);
