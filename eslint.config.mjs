// typescript-eslint's recommended rules over every source (test/architecture/lint.test.ts runs it in npm test).
// Unused names are allowed only when they start with `_`: a parameter an interface requires, a property taken
// out of an object by destructuring.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const unusedOk = { argsIgnorePattern: '^_', varsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_' };

export default tseslint.config(
  { ignores: ['node_modules/', 'dist/', 'test/architecture/fixture/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: { '@typescript-eslint/no-unused-vars': ['error', { ...unusedOk, ignoreRestSiblings: true }] },
  },
  {
    files: ['**/*.cjs', '**/*.mjs'],
    languageOptions: {
      sourceType: 'commonjs',
      globals: { module: 'writable', require: 'readonly', process: 'readonly' },
    },
  },
  { files: ['**/*.mjs'], languageOptions: { sourceType: 'module' } },
);
