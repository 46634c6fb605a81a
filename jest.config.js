// One Jest run over every workspace (`npm test`). Each project keeps its own settings in <workspace>/jest.config.js.
const fs = require('node:fs');
const path = require('node:path');

const { workspaces } = require('./package.json');
const projects = workspaces
  .map((ws) => path.join(__dirname, ws))
  .filter((dir) => fs.existsSync(path.join(dir, 'jest.config.js')));

module.exports = {
  projects,
  // Servers under test bind port 0 on 127.0.0.1, so test files can run in parallel; two workers fit a 2-core machine.
  maxWorkers: 2,
  testTimeout: 60_000,
};
