import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { defaultSolutionSrcDir } from '@dataverse-outbox/solution';

/** A temporary copy of the unpacked solution XML (no TypeScript), removed by the returned cleanup. */
export function copySolutionSource(prefix = 'obx-src-'): { dir: string; cleanup: () => void } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  fs.cpSync(defaultSolutionSrcDir, dir, { recursive: true, filter: (f) => !f.endsWith('.ts') });
  return { dir, cleanup: () => fs.rmSync(dir, { recursive: true, force: true }) };
}

export function editFile(file: string, edit: (text: string) => string): void {
  const before = fs.readFileSync(file, 'utf8');
  const after = edit(before);
  if (after === before) throw new Error(`edit of ${file} changed nothing`);
  fs.writeFileSync(file, after);
}
