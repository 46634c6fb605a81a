// Copies PCF build output (pcf-scripts writes out/controls/<Constructor>/{bundle.js,ControlManifest.xml,...}) into the
// unpacked solution's Controls/<prefix>_<Namespace>.<Constructor>/ folder, next to the committed data.xml.
import fs from 'node:fs';
import path from 'node:path';

import { ordinal } from './source';

const DATA_XML = 'ControlManifest.xml.data.xml';

export interface StagedControl {
  control: string;
  from: string | undefined;
  files: string[];
}

/** Stages every registered control whose build output exists; leaves the others as they are (the packer reports them). */
export function stageBuiltControls(srcDir: string, pcfOutDir: string): StagedControl[] {
  const controlsDir = path.join(srcDir, 'Controls');
  if (!fs.existsSync(controlsDir)) return [];
  const staged: StagedControl[] = [];
  for (const name of fs.readdirSync(controlsDir).sort(ordinal)) {
    const target = path.join(controlsDir, name);
    if (!fs.existsSync(path.join(target, DATA_XML))) continue;
    const from = path.join(pcfOutDir, name.split('.').at(-1) ?? name);
    if (!fs.existsSync(path.join(from, 'ControlManifest.xml'))) {
      staged.push({ control: name, from: undefined, files: [] });
      continue;
    }
    for (const entry of fs.readdirSync(target)) {
      if (entry !== DATA_XML) fs.rmSync(path.join(target, entry), { recursive: true, force: true });
    }
    fs.cpSync(from, target, { recursive: true });
    const files = fs.readdirSync(target, { recursive: true }).map(String).filter((f) => f !== DATA_XML).sort(ordinal);
    staged.push({ control: name, from, files });
  }
  return staged;
}
