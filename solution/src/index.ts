// Public barrel of the solution workspace: the generated names module (one source of truth for every other workspace)
// and the solution model reader.
export * from './generated/names';
export type * from './model';
