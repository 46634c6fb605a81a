const { workspaceJestConfig } = require('../jest.base.js');

// Node environment: xrm-mock needs no DOM, and the scripts under test only touch the Xrm object model.
module.exports = workspaceJestConfig(__dirname);
