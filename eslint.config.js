// ESLint: typescript-eslint's type-aware recommended rules over everything the type checker sees.
// Formatting is Prettier's (.prettierrc.json), not ESLint's.
import js from '@eslint/js';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/', 'coverage/', 'docs/'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      globals: globals.node,
      // test/tsconfig.json is the widest program: src/, machines/, scripts/, test/ and bench/.
      parserOptions: { project: './test/tsconfig.json', tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      // A machine's placeholder implementation names its parameters for their types and uses none.
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
      // A value caught from a callee is passed on as it was thrown, not rewrapped.
      '@typescript-eslint/prefer-promise-reject-errors': ['error', { allowThrowingUnknown: true }],
    },
  },
  {
    // Plain JavaScript (bench probes, the dev-auth stand-in, the dependency rules, this file): no types to check against.
    files: ['**/*.js', '**/*.cjs', '**/*.mjs', '**/*.mts'],
    extends: [tseslint.configs.disableTypeChecked],
  },
);
