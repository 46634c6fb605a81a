// Public barrel of the solution workspace: the generated names module (one source of truth for every other workspace),
// the solution model reader, and the solution tooling (packer, cleanup job) for scripts and tests.
export * from './generated/names';
export type * from './model';
export { readSolutionModel } from './solution-model';
export { SolutionError, isSolutionError, type SolutionErrorCode } from './errors';
export { defaultSolutionSrcDir, defaultSolutionOutDir } from './paths';
