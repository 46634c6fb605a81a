const { workspaceJestConfig } = require('../jest.base.js');

module.exports = workspaceJestConfig(__dirname);
