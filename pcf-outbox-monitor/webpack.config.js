// Merged by pcf-scripts into its webpack configuration (enabled by featureconfig.json "pcfAllowCustomWebpack").
// The control needs only the solution's generated names (OutboxMessage, OutboxStatus, Settings), but the solution
// package's barrel also exports its Node tooling (fs, path). Point the browser bundle at the names module alone,
// found through the package's own entry point.
const path = require('node:path');

const solutionEntry = require.resolve('@dataverse-outbox/solution');
const namesModule = path.join(path.dirname(solutionEntry), 'generated', 'names.js');

module.exports = {
  resolve: {
    alias: { '@dataverse-outbox/solution$': namesModule },
  },
};
