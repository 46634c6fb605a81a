// Public barrel of the solution workspace: the generated names module (one source of truth for every other workspace)
// and the solution model reader. The cleanup job is `@dataverse-outbox/solution/cleanup`.
export * from './generated/names';
export * from './identifiers';
export type * from './model';
export { readSolutionModel } from './solution-model';
export { SolutionError, isSolutionError, type SolutionErrorCode } from './errors';
export { defaultSolutionSrcDir, defaultSolutionOutDir } from './paths';
