export * from './errors';
export * from './plan';
export * from './planner';
export * from './executor';
export * from './render';
export * from './tools';
export * from './settingsFile';
export * from './cleanupJob';
export { runDeployCli, createProgram, findRepoRoot, requiredTools, nextRunTime, type CliIo } from './cli';
