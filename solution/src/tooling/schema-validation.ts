// Validation of solution XML against Microsoft's published XSDs with xmllint (Debian libxml2-utils).
// The schemas predate several elements every current export carries; those are listed in SCHEMA_EXCEPTIONS with the
// reason, stripped from a copy before validation, and everything else must validate. Nothing is ignored silently.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { repositoryRootDir } from '../paths';

export interface SchemaException {
  kind: 'element' | 'attribute';
  name: string;
  /** Element the exception applies inside (element exceptions) or on (attribute exceptions). */
  scope: string;
  reason: string;
}

/** Elements and attributes that real exports carry but the 9.0-era schemas do not declare (see docs/solution.md). */
export const SCHEMA_EXCEPTIONS: readonly SchemaException[] = [
  ...['IsSearchable', 'IsFilterable', 'IsRetrievable', 'IsLocalizable'].map((name) => ({
    kind: 'element' as const,
    name,
    scope: 'attribute',
    reason: 'column search/filter/retrieve/localize flags added to attribute metadata after the 9.0 schema; present on every column of current exports',
  })),
  { kind: 'attribute', name: 'IsHidden', scope: 'option', reason: 'hidden choice values (2021+); current exports write IsHidden="0" on every option' },
  { kind: 'attribute', name: 'isinherited', scope: 'Role', reason: "security role \"member's privilege inheritance\" (2021+); current exports write it on every role" },
  { kind: 'attribute', name: 'headerdensity', scope: 'form', reason: 'Unified Interface form header density; the 9.0 FormXml schema predates it' },
  ...['OptimizedFor', 'statecode', 'statuscode', 'NavigationType'].map((name) => ({
    kind: 'element' as const,
    name,
    scope: 'AppModule',
    reason: 'model-driven app properties exported since Unified Interface; the schema only knows the 9.0 app module shape',
  })),
  { kind: 'element', name: 'appsettings', scope: 'AppModule', reason: 'app settings (setting definitions) are a 2021+ component the schema does not know' },
  {
    kind: 'element',
    name: 'CascadeArchive',
    scope: 'EntityRelationship',
    reason: 'cascade for long-term data retention (archive, 2023+); current exports write it after CascadeDelete on every relationship',
  },
  ...['EnableCollapsibleGroups', 'ShowHome', 'ShowPinned', 'ShowRecents'].map((name) => ({
    kind: 'element' as const,
    name,
    scope: 'AppModuleSiteMap',
    reason: 'site map designer navigation options of Unified Interface apps; the 9.0 schema predates them',
  })),
];

export function schemasDir(): string {
  return process.env['OBX_SCHEMAS_DIR'] ?? path.resolve(repositoryRootDir, '..', 'shared', 'schemas', 'dataverse');
}

export function xmllintAvailable(): boolean {
  return spawnSync('xmllint', ['--version'], { encoding: 'utf8' }).status === 0;
}

/** Copies the XSDs to a temp folder and applies the two .NET-pattern fixes of the schemas' README. */
export function preparePatchedSchemas(sourceDir: string): { dir: string; cleanup: () => void } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'obx-xsd-'));
  for (const file of fs.readdirSync(sourceDir).filter((f) => f.endsWith('.xsd'))) {
    let text = fs.readFileSync(path.join(sourceDir, file), 'utf8');
    if (['FormXml.xsd', 'Fetch.xsd', 'CustomizationsSolution.xsd'].includes(file)) {
      text = text
        .split('(\\$webresource:|/)(.)+').join('($webresource:|/)(.)+') // `\$` is not an XSD escape
        .split('(?![cC][rR][mM]_)').join('') // lookahead is not XSD
        .replace(/value="\^(.*)\$"/g, 'value="$1"'); // ^...$ are literal characters in XSD patterns, not anchors
    }
    fs.writeFileSync(path.join(dir, file), text);
  }
  return { dir, cleanup: () => fs.rmSync(dir, { recursive: true, force: true }) };
}

/** Removes the documented exceptions from a copy of the XML text. */
export function applySchemaExceptions(xml: string, exceptions: readonly SchemaException[] = SCHEMA_EXCEPTIONS): string {
  let out = xml.replace(/^\uFEFF/, '');
  for (const exception of exceptions) {
    const scope = new RegExp(`<${exception.scope}(?=[\\s>/])(?:[^>]*?/>|[^>]*>[\\s\\S]*?</${exception.scope}>)`, 'g');
    out = out.replace(scope, (block) =>
      exception.kind === 'attribute'
        ? block.replace(new RegExp(`^(<${exception.scope}[^>]*?)\\s${exception.name}="[^"]*"`), '$1')
        : block.replace(new RegExp(`\\s*<${exception.name}(?:\\s*/>|>[\\s\\S]*?</${exception.name}>)`, 'g'), ''),
    );
  }
  return out;
}

export interface XmllintResult {
  valid: boolean;
  errors: string[];
}

/** Validates XML text against a schema file; error lines are returned without the temp file name. */
export function xmllintValidate(schemaFile: string, xml: string, label = 'document'): XmllintResult {
  const result = spawnSync('xmllint', ['--noout', '--schema', schemaFile, '-'], { input: xml, encoding: 'utf8' });
  if (result.error) throw result.error;
  const errors = result.stderr
    .split('\n')
    .filter((l) => l.trim() !== '' && !/ validates$/.test(l) && !/fails to validate$/.test(l))
    .map((l) => l.replace(/^-:/, `${label}:`));
  return { valid: result.status === 0, errors };
}
