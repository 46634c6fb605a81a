// Shared Jest settings for every TypeScript workspace. Each workspace's jest.config.js calls this with its own folder,
// and the root jest.config.js lists the workspaces as projects, so `npm test` runs them all in one Jest run.
// ts-jest only transpiles (isolatedModules): type errors are caught by `npm run build` (tsc -b), which `npm test` runs first.
const path = require('node:path');

/** @param {string} dir absolute path of the workspace @param {object} [overrides] */
function workspaceJestConfig(dir, overrides = {}) {
  const name = path.basename(dir);
  return {
    displayName: name,
    rootDir: dir,
    testEnvironment: 'node',
    testEnvironmentOptions: {
      // Workspace packages export their TypeScript sources under the "development" condition, so tests never
      // depend on a previous build of a sibling workspace.
      customExportConditions: ['development', 'node', 'node-addons'],
    },
    testMatch: ['<rootDir>/**/*.test.ts', '<rootDir>/**/*.test.tsx'],
    testPathIgnorePatterns: ['/node_modules/', '/dist/', '/out/'],
    transform: {
      '^.+\\.tsx?$': ['ts-jest', { tsconfig: path.join(dir, 'tsconfig.test.json') }],
    },
    testTimeout: 60_000,
    moduleFileExtensions: ['ts', 'tsx', 'js', 'json', 'node'],
    ...overrides,
  };
}

module.exports = { workspaceJestConfig };
