import fs from 'node:fs';

import { readSolutionModel } from '../solution-model';
import { renderNamesModule } from './names-generator';

export interface NamesCheck {
  fresh: boolean;
  expected: string;
  actual: string | undefined;
}

/** Compares the names module on disk with what the XML in srcDir generates. */
export function checkNamesModule(srcDir: string, namesFile: string): NamesCheck {
  const expected = renderNamesModule(readSolutionModel(srcDir));
  const actual = fs.existsSync(namesFile) ? fs.readFileSync(namesFile, 'utf8') : undefined;
  return { fresh: actual === expected, expected, actual };
}
