const path = require('node:path');
const { workspaceJestConfig } = require('../jest.base.js');

// Components and the PCF adapter run in jsdom; the browser test (test/browser.test.ts) declares the node environment
// in its own docblock because it drives a real chromium.
module.exports = workspaceJestConfig(__dirname, {
  testEnvironment: path.join(__dirname, 'test', 'jsdomEnvironment.js'),
  testEnvironmentOptions: {
    customExportConditions: ['development', 'browser', 'require', 'default'],
  },
  setupFiles: [path.join(__dirname, 'test', 'setup.ts')],
});
