// Test-only entry point of publisher-function: hooks that change how a host is built, for the package's own tests.
// It is deliberately not in package.json "exports" and not re-exported by the barrel (src/index.ts) or the Functions
// entry point (src/functions/index.ts): production hosts cannot reach it. Tests import it by relative path.
export { closeHost as closeFunctionsHost, setFunctionsHostConfig } from './functions/host';
export type { FunctionsHostConfig } from './functions/host';
