import path from 'node:path';

// This module sits at the top of src/ (development) and dist/ (built), so one level up is the workspace folder either way.
export const solutionWorkspaceDir = path.resolve(__dirname, '..');

/** The unpacked solution (Other/, Entities/, ...): the source of truth for names, the packer and the emulator. */
export const defaultSolutionSrcDir = path.join(solutionWorkspaceDir, 'src');

/** Where `npm run build -w solution` writes the zips. */
export const defaultSolutionOutDir = path.join(solutionWorkspaceDir, 'out');

/** The generated names module, kept in the contract workspace that every workspace imports. */
export const namesModulePath = path.join(solutionWorkspaceDir, '..', 'contract', 'src', 'generated', 'names.ts');

/** Repository root (the npm workspaces root). */
export const repositoryRootDir = path.resolve(solutionWorkspaceDir, '..');
