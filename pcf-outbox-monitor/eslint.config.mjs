// Lint for the PCF control (pcf-scripts runs ESLint during `build` and fails on errors): type-checked TypeScript rules,
// Power Apps checker rules and React hooks rules. Tests and the host page use the same rules with Node/Jest globals.
import eslintjs from '@eslint/js';
import powerApps from '@microsoft/eslint-plugin-power-apps';
import reactHooks from 'eslint-plugin-react-hooks';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['**/generated/**', 'out/**', 'dist/**', 'obj/**', 'bin/**', 'node_modules/**'] },
  eslintjs.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    // Power Apps checker rules apply to the code that runs inside Dataverse (the control), not to tests or the host page.
    files: ['OutboxMonitor/**/*.ts', 'OutboxMonitor/**/*.tsx'],
    plugins: { '@microsoft/power-apps': powerApps },
    rules: powerApps.configs.paCheckerHosted.rules,
  },
  reactHooks.configs.flat['recommended-latest'],
  {
    languageOptions: {
      globals: { ...globals.browser, ComponentFramework: 'readonly' },
      parserOptions: {
        project: ['./tsconfig.json', './tsconfig.test.json'],
        tsconfigRootDir: import.meta.dirname,
      },
    },
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
      'react-hooks/exhaustive-deps': 'error',
      eqeqeq: ['error', 'smart'],
    },
  },
  {
    files: ['test/**', 'host/**'],
    languageOptions: { globals: { ...globals.node, ...globals.jest } },
  },
  {
    files: ['**/*.js', '**/*.mjs', '**/*.cjs'],
    ...tseslint.configs.disableTypeChecked,
    languageOptions: { globals: { ...globals.node }, sourceType: 'commonjs', parserOptions: { project: false, program: null, projectService: false } },
    rules: { ...tseslint.configs.disableTypeChecked.rules, '@typescript-eslint/no-require-imports': 'off' },
  },
  {
    files: ['**/*.mjs'],
    languageOptions: { sourceType: 'module' },
  },
);
