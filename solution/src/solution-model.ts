import { defaultSolutionSrcDir } from './paths';
import type { SolutionModel } from './model';
import { buildSolutionModel } from './tooling/read-model';
import { loadSolutionSource } from './tooling/source';

/**
 * Reads the unpacked solution (default: this workspace's src/) into a SolutionModel: tables with every column,
 * alternate keys and views, global choices, environment variable definitions and security roles.
 * Synchronous on purpose: callers (emulator start-up, generators) need it before doing anything else.
 * Throws SolutionError (with the offending file) for malformed or inconsistent XML.
 */
export function readSolutionModel(srcDir: string = defaultSolutionSrcDir): SolutionModel {
  return buildSolutionModel(loadSolutionSource(srcDir));
}
