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

/** True when tests must not skip for missing inputs (CI=true): a skip there would hide a broken build order. */
export const strict = process.env['CI'] === 'true';

/**
 * Fills in, in a temporary copy, the built files other workspaces produce (web resource .js, PCF bundle and manifest)
 * when they are missing, so the packer's own behaviour is testable in any build order. Returns what was stood in.
 */
export function standInBuiltFiles(dir: string): string[] {
  const stood: string[] = [];
  const webResources = path.join(dir, 'WebResources');
  const walk = (d: string): string[] =>
    fs.existsSync(d) ? fs.readdirSync(d, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(path.join(d, e.name)) : [path.join(d, e.name)])) : [];
  for (const dataXml of walk(webResources).filter((f) => f.endsWith('.data.xml'))) {
    const content = dataXml.slice(0, -'.data.xml'.length);
    if (!fs.existsSync(content)) {
      fs.writeFileSync(content, `/* test stand-in for ${path.basename(content)} */\n`);
      stood.push(path.relative(dir, content));
    }
  }
  const controls = path.join(dir, 'Controls');
  for (const name of fs.existsSync(controls) ? fs.readdirSync(controls) : []) {
    const controlDir = path.join(controls, name);
    const [prefix, rest] = name.split('_', 2) as [string, string];
    const [namespace, constructor] = rest.split('.') as [string, string];
    if (!fs.existsSync(path.join(controlDir, 'ControlManifest.xml'))) {
      fs.writeFileSync(
        path.join(controlDir, 'ControlManifest.xml'),
        `<?xml version="1.0" encoding="utf-8"?><manifest><control namespace="${namespace}" constructor="${constructor}" version="1.0.0" control-type="virtual"><data-set name="records" display-name-key="Records"/><resources><code path="bundle.js" order="1"/></resources></control></manifest>`,
      );
      stood.push(`Controls/${name}/ControlManifest.xml`);
    }
    if (!fs.existsSync(path.join(controlDir, 'bundle.js'))) {
      fs.writeFileSync(path.join(controlDir, 'bundle.js'), `/* test stand-in for ${prefix}_${namespace}.${constructor} */\n`);
      stood.push(`Controls/${name}/bundle.js`);
    }
  }
  return stood;
}
