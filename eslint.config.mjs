// Lint: @eslint/js recommended plus typescript-eslint's type-aware rules where they catch real bugs in this code base
// (promises nobody awaits, promises passed where a callback's result is ignored, awaiting non-promises).
import { createRequire } from 'node:module';
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const NODE_GLOBALS = Object.fromEntries(
  [
    'require',
    'module',
    'exports',
    '__dirname',
    '__filename',
    'process',
    'console',
    'Buffer',
    'URL',
    'setTimeout',
    'clearTimeout',
    'setInterval',
    'clearInterval',
    'setImmediate',
  ].map((name) => [name, name === 'module' || name === 'exports' ? 'writable' : 'readonly']),
);

// Dependencies only the server uses: the root's, less the ones packaging/packages.js keeps for nx-sealed-cache.
const require = createRequire(import.meta.url);
const SERVER_ONLY_PACKAGES = require('./packaging/packages.js').serverOnlyDependencies(require('./package.json'));

export default tseslint.config(
  {
    ignores: [
      'dist/',
      'coverage/',
      '**/node_modules/',
      'tests/fixtures/*/',
      'bench/results/',
      'bench/fixtures/',
      '.nx/',
      'nx-sealed-cache-data/',
      'packed/',
    ],
  },
  // An eslint-disable comment that no longer silences anything is an error, so none outlives its reason.
  { linterOptions: { reportUnusedDisableDirectives: 'error' } },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/await-thenable': 'error',
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none', ignoreRestSiblings: true },
      ],
      // Inline `type` markers, as the code base already writes them; `import('x').T` in annotations stays allowed.
      '@typescript-eslint/consistent-type-imports': [
        'error',
        { fixStyle: 'inline-type-imports', disallowTypeAnnotations: false },
      ],
    },
  },
  {
    // The nx-sealed-cache package ships without the server (docs/packages.md): the code it ships may not import
    // the server's modules or dependencies. server-gateway.ts is the one door, through a guarded require.
    files: [
      'src/*.ts',
      'src/client/**/*.ts',
      'src/plugin/**/*.ts',
      'src/proxy/**/*.ts',
      'src/runner/**/*.ts',
      'src/archive/**/*.ts',
      'src/crypto/**/*.ts',
      'src/nx-config/**/*.ts',
      'src/cli/**/*.ts',
      'generators/**/*.ts',
      'executors/**/*.ts',
    ],
    ignores: [
      '**/*.test.ts',
      'src/cli/server-commands.ts',
      'src/cli/backup-client.ts',
      'src/cli/commands/admin.ts',
      'src/cli/commands/backup.ts',
      'src/cli/commands/serve.ts',
      'src/cli/commands/storage.ts',
    ],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          paths: SERVER_ONLY_PACKAGES.map((name) => ({
            name,
            message: 'a server dependency: the nx-sealed-cache package does not install it (docs/packages.md)',
            allowTypeImports: true,
          })),
          patterns: [
            {
              regex: '(^|/)server(/|$)|^@aws-sdk/|^@fastify/',
              message: 'server code: the nx-sealed-cache package does not ship it (docs/packages.md)',
              allowTypeImports: true,
            },
            {
              regex: '(^|/)(server-commands|backup-client|commands/(admin|backup|serve|storage))$',
              message: 'server commands load only through src/cli/server-gateway.ts',
              allowTypeImports: true,
            },
          ],
        },
      ],
    },
  },
  {
    // Plain CommonJS: install scripts, jest configs, require hooks.
    files: ['**/*.js'],
    languageOptions: { sourceType: 'commonjs', globals: NODE_GLOBALS },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
);
