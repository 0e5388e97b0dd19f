// Lint: @eslint/js recommended plus typescript-eslint's type-aware rules where they catch real bugs in this code base
// (promises nobody awaits, promises passed where a callback's result is ignored, awaiting non-promises).
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
    // Plain CommonJS: install scripts, jest configs, require hooks.
    files: ['**/*.js'],
    languageOptions: { sourceType: 'commonjs', globals: NODE_GLOBALS },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
);
