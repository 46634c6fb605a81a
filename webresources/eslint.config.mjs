// ESLint for the web resources: the repository's TypeScript rules plus every Power Apps checker rule
// (@microsoft/eslint-plugin-power-apps) as an error, so deprecated client APIs (Xrm.Page, 2011 endpoints, parent.Xrm,
// synchronous requests, ...) fail the build. Run by `npm run build -w webresources`.
import js from '@eslint/js';
import powerApps from '@microsoft/eslint-plugin-power-apps';
import globals from 'globals';
import tseslint from 'typescript-eslint';

const powerAppsRules = Object.fromEntries(Object.keys(powerApps.rules).map((rule) => [`@microsoft/power-apps/${rule}`, 'error']));

export default tseslint.config(
  { ignores: ['node_modules/**', 'dist/**', 'coverage/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      eqeqeq: ['error', 'smart'],
      'no-eval': 'error',
      'no-implied-eval': 'error',
      'no-new-func': 'error',
    },
  },
  {
    files: ['src/**/*.ts'],
    languageOptions: { globals: { ...globals.browser, Xrm: 'readonly' } },
    plugins: { '@microsoft/power-apps': powerApps },
    rules: powerAppsRules,
  },
  {
    files: ['test/**/*.ts', 'scripts/**/*.mjs', '*.js', '*.mjs'],
    languageOptions: { globals: { ...globals.node, ...globals.jest } },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
);
