// Packs an unpacked solution into the two importable zips (unmanaged and managed), the way `pac solution pack
// --packagetype Both` does, without pac. Deterministic: same sources -> byte-identical zips.
import fs from 'node:fs';
import path from 'node:path';

import { zipSync, type Zippable } from 'fflate';

import { SolutionError } from '../errors';
import type { SolutionModel } from '../model';
import { buildSolutionModel } from './read-model';
import { loadSolutionSource, ordinal, type SolutionSource } from './source';
import { buildCustomizationsXml, buildSolutionXml, webResourceEntryName } from './customizations';
import { missingBuiltFiles, throwIfProblems, validateSolution } from './validate';
import { attr, child, children, parseXml } from './xml';

export interface PackOptions {
  /** Unpacked solution folder. */
  srcDir: string;
  /** Folder for the zips (created when missing). */
  outDir: string;
  /** Progress lines for long steps; default silent. */
  onProgress?: (message: string) => void;
}

export interface PackResult {
  unmanagedZip: string;
  managedZip: string;
  /** Entry names of both zips, in zip order. */
  entries: string[];
  model: SolutionModel;
}

export interface PackedSolution {
  fileBaseName: string;
  unmanaged: Uint8Array;
  managed: Uint8Array;
  entries: string[];
  model: SolutionModel;
}

const BOM = '\uFEFF';
// Local-time constructor on purpose: fflate writes DOS times from local fields, so this gives the same bytes in every time zone.
const FIXED_MTIME = new Date(2000, 0, 1, 0, 0, 0);

const encode = (text: string): Uint8Array => new TextEncoder().encode(text);

/** `[Content_Types].xml`: one Default per extension (xml first), one Override per extension-less entry. */
export function buildContentTypes(entries: readonly string[]): string {
  const extensions = new Set<string>();
  const overrides: string[] = [];
  for (const entry of entries) {
    const base = entry.split('/').at(-1) ?? entry;
    const dot = base.lastIndexOf('.');
    if (dot > 0) extensions.add(base.slice(dot + 1).toLowerCase());
    else overrides.push(entry);
  }
  const ordered = ['xml', ...[...extensions].filter((e) => e !== 'xml').sort(ordinal)];
  return (
    '<?xml version="1.0" encoding="utf-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">' +
    ordered.map((e) => `<Default Extension="${e}" ContentType="application/octet-stream" />`).join('') +
    overrides.map((o) => `<Override PartName="/${o}" ContentType="application/octet-stream" />`).join('') +
    '</Types>'
  );
}

function filesUnder(dir: string): string[] {
  const out: string[] = [];
  for (const entry of fs.readdirSync(dir, { withFileTypes: true }).sort((a, b) => ordinal(a.name, b.name))) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) out.push(...filesUnder(full));
    else if (entry.isFile()) out.push(full);
  }
  return out;
}

/** Files a built ControlManifest.xml references under <resources> (code, css, resx, img). */
export function controlResourcePaths(controlDir: string): string[] {
  const manifestPath = path.join(controlDir, 'ControlManifest.xml');
  const manifest = parseXml(fs.readFileSync(manifestPath, 'utf8'), manifestPath);
  const resources = child(child(child(manifest, 'manifest'), 'control'), 'resources');
  return ['code', 'css', 'resx', 'img', 'html']
    .flatMap((kind) => children(resources, kind).map((r) => attr(r, 'path') ?? ''))
    .filter(Boolean)
    .map((p) => p.replace(/\\/g, '/'));
}

/** Zip entries other than the three generated XML files, in zip order: Controls, WebResources, environment variables. */
function componentEntries(source: SolutionSource): [string, Uint8Array][] {
  const entries: [string, Uint8Array][] = [];
  for (const control of source.controls) {
    // Ship the manifest and the files it references (code, css, resx), as exports do; not build leftovers such as licence notes.
    const shipped = new Set(['ControlManifest.xml', ...controlResourcePaths(control.dir)]);
    for (const file of filesUnder(control.dir)) {
      const rel = path.relative(control.dir, file).split(path.sep).join('/');
      if (!shipped.has(rel)) continue;
      entries.push([`Controls/${control.name}/${rel}`, fs.readFileSync(file)]);
    }
  }
  for (const resource of [...source.webResources].sort((a, b) => ordinal(webResourceEntryName(a), webResourceEntryName(b)))) {
    entries.push([`WebResources/${webResourceEntryName(resource)}`, fs.readFileSync(resource.contentPath)]);
  }
  for (const variable of source.environmentVariables) {
    const schemaName = path.basename(path.dirname(variable.path));
    entries.push([`environmentvariabledefinitions/${schemaName}/environmentvariabledefinition.xml`, encode(variable.text)]);
  }
  return entries;
}

function zip(entries: readonly [string, Uint8Array][]): Uint8Array {
  const files: Zippable = {};
  for (const [name, data] of entries) files[name] = [data, { mtime: FIXED_MTIME, level: 6 }];
  return zipSync(files);
}

/** Validates and packs in memory; throws SolutionError (nothing written) when the sources are not importable. */
export function packSolution(srcDir: string, onProgress: (message: string) => void = () => undefined): PackedSolution {
  onProgress(`reading ${srcDir}`);
  const source = loadSolutionSource(srcDir);
  const model = buildSolutionModel(source);
  onProgress('checking references, columns, ids and built files');
  throwIfProblems([...validateSolution(source, model), ...missingBuiltFiles(source)]);
  onProgress('merging customizations.xml');
  const customizations = encode(BOM + buildCustomizationsXml(source));
  const components = componentEntries(source);
  const entryNames = ['customizations.xml', '[Content_Types].xml', 'solution.xml', ...components.map(([name]) => name)];
  const seen = new Set<string>();
  for (const name of entryNames) {
    if (seen.has(name)) throw new SolutionError('DuplicateId', `two files would be packed as the same zip entry ${name}`);
    seen.add(name);
  }
  const contentTypes = encode(BOM + buildContentTypes(entryNames));
  const build = (managed: boolean): Uint8Array => {
    onProgress(`zipping ${managed ? 'managed' : 'unmanaged'} solution (${entryNames.length} entries)`);
    return zip([
      ['customizations.xml', customizations],
      ['[Content_Types].xml', contentTypes],
      ['solution.xml', encode(BOM + buildSolutionXml(source, managed))],
      ...components,
    ]);
  };
  return {
    fileBaseName: `${model.uniqueName}_${model.version.replace(/\./g, '_')}`,
    unmanaged: build(false),
    managed: build(true),
    entries: entryNames,
    model,
  };
}

/** Packs and writes `<UniqueName>_<v_v_v_v>.zip` and `..._managed.zip`; each file appears whole or not at all. */
export function packSolutionToFolder(options: PackOptions): PackResult {
  const packed = packSolution(options.srcDir, options.onProgress);
  fs.mkdirSync(options.outDir, { recursive: true });
  const unmanagedZip = path.join(options.outDir, `${packed.fileBaseName}.zip`);
  const managedZip = path.join(options.outDir, `${packed.fileBaseName}_managed.zip`);
  const temps: [string, string][] = [];
  try {
    for (const [target, data] of [[unmanagedZip, packed.unmanaged], [managedZip, packed.managed]] as const) {
      const temp = `${target}.${process.pid}.tmp`;
      fs.writeFileSync(temp, data);
      temps.push([temp, target]);
    }
    for (const [temp, target] of temps) fs.renameSync(temp, target);
  } finally {
    for (const [temp] of temps) fs.rmSync(temp, { force: true });
  }
  options.onProgress?.(`wrote ${unmanagedZip} and ${managedZip}`);
  return { unmanagedZip, managedZip, entries: packed.entries, model: packed.model };
}
