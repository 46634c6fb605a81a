// Reads an unpacked solution folder (the `pac solution unpack` layout) into parsed files. Everything downstream
// (model reader, validator, packer) works from this one snapshot, so a file is read and parsed exactly once.
import fs from 'node:fs';
import path from 'node:path';

import { SolutionError } from '../errors';
import { attr, childText, parseXml, type XmlNode } from './xml';

export interface SourceFile {
  /** Absolute path. */
  path: string;
  /** Path relative to the solution source folder, with forward slashes (used in messages). */
  rel: string;
  text: string;
  doc: XmlNode;
}

export interface EntitySource {
  schemaName: string;
  entity: SourceFile;
  forms: SourceFile[];
  views: SourceFile[];
  ribbonDiff: SourceFile | undefined;
}

export interface WebResourceSource {
  dataXml: SourceFile;
  name: string;
  /** GUID without braces, lower case. */
  id: string;
  /** `<FileName>` as written in the unpacked data.xml, e.g. `/WebResources/obx_/outbox/client.js`. */
  fileName: string;
  /** Absolute path of the built content the packer puts into the zip. */
  contentPath: string;
}

export interface ControlSource {
  dataXml: SourceFile;
  /** `<prefix>_<Namespace>.<Constructor>` */
  name: string;
  dir: string;
}

export interface SolutionSource {
  srcDir: string;
  solution: SourceFile;
  customizations: SourceFile;
  relationshipsIndex: SourceFile | undefined;
  relationships: SourceFile[];
  entities: EntitySource[];
  optionSets: SourceFile[];
  environmentVariables: SourceFile[];
  roles: SourceFile[];
  /** Other/FieldSecurityProfiles.xml, where `pac solution unpack` writes column security profiles. */
  fieldSecurityProfiles: SourceFile | undefined;
  appModules: SourceFile[];
  siteMaps: SourceFile[];
  webResources: WebResourceSource[];
  controls: ControlSource[];
}

/** Ordinal comparison, so listings (and therefore zips) do not depend on the machine's locale. */
export function ordinal(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

export function readSourceFile(srcDir: string, file: string): SourceFile {
  const rel = path.relative(srcDir, file).split(path.sep).join('/');
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (error) {
    throw new SolutionError('MissingComponent', `cannot read file (${(error as NodeJS.ErrnoException).code ?? 'error'})`, rel);
  }
  return { path: file, rel, text, doc: parseXml(text, rel) };
}

function list(dir: string, filter: (entry: fs.Dirent) => boolean): string[] {
  if (!fs.existsSync(dir)) return [];
  return fs
    .readdirSync(dir, { withFileTypes: true })
    .filter(filter)
    .map((entry) => entry.name)
    .sort(ordinal);
}

const isXmlFile = (entry: fs.Dirent): boolean => entry.isFile() && entry.name.toLowerCase().endsWith('.xml');
const isDir = (entry: fs.Dirent): boolean => entry.isDirectory();

function walk(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  const out: string[] = [];
  for (const entry of fs.readdirSync(dir, { withFileTypes: true }).sort((a, b) => ordinal(a.name, b.name))) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) out.push(...walk(full));
    else if (entry.isFile()) out.push(full);
  }
  return out;
}

export function loadSolutionSource(srcDir: string): SolutionSource {
  if (!fs.existsSync(path.join(srcDir, 'Other', 'Solution.xml'))) {
    throw new SolutionError('MissingComponent', `no Other/Solution.xml: ${srcDir} is not an unpacked solution folder`);
  }
  const read = (...parts: string[]): SourceFile => readSourceFile(srcDir, path.join(srcDir, ...parts));

  const entities = list(path.join(srcDir, 'Entities'), isDir).map((schemaName): EntitySource => {
    const dir = path.join(srcDir, 'Entities', schemaName);
    const formFiles = list(path.join(dir, 'FormXml'), isDir).flatMap((kind) =>
      list(path.join(dir, 'FormXml', kind), isXmlFile).map((f) => path.join(dir, 'FormXml', kind, f)),
    );
    return {
      schemaName,
      entity: read('Entities', schemaName, 'Entity.xml'),
      forms: formFiles.map((f) => readSourceFile(srcDir, f)),
      views: list(path.join(dir, 'SavedQueries'), isXmlFile).map((f) => read('Entities', schemaName, 'SavedQueries', f)),
      ribbonDiff: fs.existsSync(path.join(dir, 'RibbonDiff.xml')) ? read('Entities', schemaName, 'RibbonDiff.xml') : undefined,
    };
  });

  const webResources = walk(path.join(srcDir, 'WebResources'))
    .filter((f) => f.endsWith('.data.xml'))
    .map((f): WebResourceSource => {
      const dataXml = readSourceFile(srcDir, f);
      const node = dataXml.doc['WebResource'] as XmlNode | undefined;
      const name = childText(node, 'Name');
      const id = childText(node, 'WebResourceId');
      if (!name || !id) throw new SolutionError('MissingElement', 'web resource needs <WebResourceId> and <Name>', dataXml.rel);
      // The unpacked data.xml sits next to its content: <file>.data.xml describes <file>.
      const fileName = childText(node, 'FileName') ?? '/' + path.relative(srcDir, f.slice(0, -'.data.xml'.length)).split(path.sep).join('/');
      return {
        dataXml,
        name,
        id: id.replace(/[{}]/g, '').toLowerCase(),
        fileName,
        contentPath: path.join(srcDir, ...fileName.split('/').filter(Boolean)),
      };
    });

  const controls = list(path.join(srcDir, 'Controls'), isDir)
    .filter((dir) => fs.existsSync(path.join(srcDir, 'Controls', dir, 'ControlManifest.xml.data.xml')))
    .map((dir): ControlSource => {
      const dataXml = read('Controls', dir, 'ControlManifest.xml.data.xml');
      const node = dataXml.doc['CustomControl'] as XmlNode | undefined;
      const name = childText(node, 'Name') ?? attr(node, 'Name');
      if (!name) throw new SolutionError('MissingElement', 'custom control needs <Name>', dataXml.rel);
      return { dataXml, name, dir: path.join(srcDir, 'Controls', dir) };
    });

  const relationshipsIndexPath = path.join(srcDir, 'Other', 'Relationships.xml');
  const fieldSecurityProfilesPath = path.join(srcDir, 'Other', 'FieldSecurityProfiles.xml');
  return {
    srcDir,
    solution: read('Other', 'Solution.xml'),
    customizations: read('Other', 'Customizations.xml'),
    relationshipsIndex: fs.existsSync(relationshipsIndexPath) ? read('Other', 'Relationships.xml') : undefined,
    relationships: list(path.join(srcDir, 'Other', 'Relationships'), isXmlFile).map((f) => read('Other', 'Relationships', f)),
    entities,
    optionSets: list(path.join(srcDir, 'OptionSets'), isXmlFile).map((f) => read('OptionSets', f)),
    environmentVariables: list(path.join(srcDir, 'environmentvariabledefinitions'), isDir)
      .filter((d) => fs.existsSync(path.join(srcDir, 'environmentvariabledefinitions', d, 'environmentvariabledefinition.xml')))
      .map((d) => read('environmentvariabledefinitions', d, 'environmentvariabledefinition.xml')),
    roles: list(path.join(srcDir, 'Roles'), isXmlFile).map((f) => read('Roles', f)),
    fieldSecurityProfiles: fs.existsSync(fieldSecurityProfilesPath) ? read('Other', 'FieldSecurityProfiles.xml') : undefined,
    appModules: list(path.join(srcDir, 'AppModules'), isDir)
      .filter((d) => fs.existsSync(path.join(srcDir, 'AppModules', d, 'AppModule.xml')))
      .map((d) => read('AppModules', d, 'AppModule.xml')),
    siteMaps: list(path.join(srcDir, 'AppModuleSiteMaps'), isDir)
      .filter((d) => fs.existsSync(path.join(srcDir, 'AppModuleSiteMaps', d, 'AppModuleSiteMap.xml')))
      .map((d) => read('AppModuleSiteMaps', d, 'AppModuleSiteMap.xml')),
    webResources,
    controls,
  };
}
