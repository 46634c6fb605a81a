// Reads the solution model (Entity.xml, option sets, environment variables, roles) through the solution workspace's
// public barrel, so the emulator serves exactly the tables the solution defines.
import { readSolutionModel, type SolutionModel } from '@dataverse-outbox/solution';

export function loadSolutionModel(solutionDir?: string): SolutionModel {
  return solutionDir ? readSolutionModel(solutionDir) : readSolutionModel();
}
