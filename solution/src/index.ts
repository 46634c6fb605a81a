// Public barrel of the solution workspace: the solution model reader and its tooling. The names generated from the
// solution XML live in @dataverse-outbox/contract (src/generated/names.ts there). The cleanup job is
// `@dataverse-outbox/solution/cleanup`.
export type * from './model';
export { readSolutionModel } from './solution-model';
export { SolutionError, isSolutionError, type SolutionErrorCode } from './errors';
export { defaultSolutionSrcDir, defaultSolutionOutDir } from './paths';
