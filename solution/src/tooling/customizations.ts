// Merges the unpacked component files into the one customizations.xml a solution zip carries, and writes the zip's
// solution.xml. Works on the source text (not a re-serialised DOM) so what is shipped is exactly what was reviewed.
import { SolutionError } from '../errors';
import type { SolutionSource, SourceFile, WebResourceSource } from './source';
import { rootComponents } from './validate';
import { escapeXml } from './xml';

const XSI = 'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"';

/** `ifi_pdfjs/pdf.worker.min.js` + id -> `ifi_pdfjspdfworkerminjs5A5AF6DB-...` (solution-zip.md). */
export function webResourceEntryName(resource: Pick<WebResourceSource, 'name' | 'id'>): string {
  return resource.name.replace(/[^A-Za-z0-9_]/g, '') + resource.id.toUpperCase();
}

/** Drops the BOM, the XML declaration and comments before the root element (they describe the source file, not the component). */
function stripDeclaration(text: string): string {
  return text
    .replace(/^\uFEFF/, '')
    .replace(/^\s*<\?xml[^>]*\?>\s*/, '')
    .replace(/^(\s*<!--[\s\S]*?-->)+\s*/, '')
    .trim();
}

/** The root element of a file without the XML declaration and without its xmlns:xsi (declared once on the merged root). */
export function outerXml(file: SourceFile): string {
  return stripDeclaration(file.text).replace(new RegExp(`\\s+${XSI.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}`), '');
}

/** The content between the root's start and end tags (empty for a self-closing root). */
export function innerXml(file: SourceFile): string {
  const body = stripDeclaration(file.text);
  const open = /^<([A-Za-z_][\w.:-]*)(?:\s[^>]*?)?(\/?)>/.exec(body);
  if (!open) throw new SolutionError('MalformedXml', 'no root element', file.rel);
  if (open[2] === '/') return '';
  const close = body.lastIndexOf(`</${open[1] ?? ''}>`);
  return body.slice(open[0].length, close).replace(/^\s*\n/, '').replace(/\s+$/, '');
}

/** Re-indents a block so its least-indented line starts at `indent` spaces. */
export function indentBlock(block: string, indent: number): string {
  const lines = block.replace(/\r\n/g, '\n').split('\n').filter((l) => l.trim() !== '');
  const least = Math.min(...lines.map((l) => /^ */.exec(l)?.[0].length ?? 0));
  return lines.map((l) => ' '.repeat(indent) + l.slice(least)).join('\n');
}

function section(name: string, items: string[], indent = 2): string {
  if (items.length === 0) return `${' '.repeat(indent)}<${name} />`;
  return [`${' '.repeat(indent)}<${name}>`, ...items.map((i) => indentBlock(i, indent + 2)), `${' '.repeat(indent)}</${name}>`].join('\n');
}

function replacePlaceholder(entityXml: string, element: string, content: string | undefined, file: string): string {
  if (content === undefined) return entityXml;
  const placeholder = new RegExp(`^([ \\t]*)<${element}\\s*/>[ \\t]*$`, 'm');
  const match = placeholder.exec(entityXml);
  if (!match) {
    throw new SolutionError('InvalidValue', `Entity.xml must keep <${element} /> empty: its content comes from the ${element === 'FormXml' ? 'FormXml/' : element === 'SavedQueries' ? 'SavedQueries/' : 'RibbonDiff.xml'} file(s)`, file);
  }
  return entityXml.replace(placeholder, indentBlock(content, (match[1] ?? '').length));
}

function entityBlock(entity: SolutionSource['entities'][number]): string {
  let xml = outerXml(entity.entity);
  const formsByType = new Map<string, SourceFile[]>();
  for (const form of entity.forms) {
    const type = form.rel.split('/').at(-2) ?? 'main';
    formsByType.set(type, [...(formsByType.get(type) ?? []), form]);
  }
  const forms = [...formsByType.entries()].map(([type, files]) =>
    [`<forms type="${type}">`, ...files.map((f) => indentBlock(innerXml(f), 2)), '</forms>'].join('\n'),
  );
  xml = replacePlaceholder(xml, 'FormXml', forms.length ? ['<FormXml>', indentBlock(forms.join('\n'), 2), '</FormXml>'].join('\n') : undefined, entity.entity.rel);
  const views = entity.views.map((v) => indentBlock(innerXml(v), 2));
  xml = replacePlaceholder(
    xml,
    'SavedQueries',
    views.length ? ['<SavedQueries>', '  <savedqueries>', indentBlock(views.join('\n'), 4), '  </savedqueries>', '</SavedQueries>'].join('\n') : undefined,
    entity.entity.rel,
  );
  if (entity.ribbonDiff) {
    const inner = innerXml(entity.ribbonDiff);
    xml = replacePlaceholder(xml, 'RibbonDiffXml', inner ? ['<RibbonDiffXml>', indentBlock(inner, 2), '</RibbonDiffXml>'].join('\n') : '<RibbonDiffXml />', entity.entity.rel);
  }
  return xml;
}

function webResourceBlock(resource: WebResourceSource): string {
  const xml = outerXml(resource.dataXml);
  const fileName = `/WebResources/${webResourceEntryName(resource)}`;
  if (/<FileName>[^<]*<\/FileName>/.test(xml)) return xml.replace(/<FileName>[^<]*<\/FileName>/, `<FileName>${escapeXml(fileName)}</FileName>`);
  return xml.replace(/([ \t]*)<\/WebResource>\s*$/, `$1  <FileName>${escapeXml(fileName)}</FileName>\n$1</WebResource>`);
}

export function buildCustomizationsXml(source: SolutionSource): string {
  const languages = /<Languages>[\s\S]*?<\/Languages>/.exec(source.customizations.text)?.[0] ?? '<Languages>\n  <Language>1033</Language>\n</Languages>';
  const relationships = source.relationships.flatMap((file) => {
    const inner = innerXml(file);
    return inner ? [inner] : [];
  });
  const parts = [
    '<?xml version="1.0" encoding="utf-8"?>',
    `<ImportExportXml ${XSI}>`,
    section('Entities', source.entities.map(entityBlock)),
    section('Roles', source.roles.map(outerXml)),
    section('Workflows', []),
    // The unpacked file's root is <FieldSecurityProfiles>: its content is the section as exported.
    section('FieldSecurityProfiles', source.fieldSecurityProfiles && innerXml(source.fieldSecurityProfiles) ? [innerXml(source.fieldSecurityProfiles)] : []),
    section('Templates', []),
    section('EntityMaps', []),
    section('EntityRelationships', relationships),
    section('OrganizationSettings', []),
    section('optionsets', source.optionSets.map(outerXml)),
    ...(source.webResources.length ? [section('WebResources', source.webResources.map(webResourceBlock))] : []),
    section('CustomControls', source.controls.map((c) => outerXml(c.dataXml))),
    ...(source.siteMaps.length ? [section('AppModuleSiteMaps', source.siteMaps.map(outerXml))] : []),
    ...(source.appModules.length ? [section('AppModules', source.appModules.map(outerXml))] : []),
    section('EntityDataProviders', []),
    indentBlock(languages, 2),
    '</ImportExportXml>',
    '',
  ];
  return parts.join('\n');
}

/**
 * solution.xml for the zip: Other/Solution.xml with <Managed> set, plus a RootComponent for every registered web
 * resource that the manifest does not list yet (web resources are registered by their own build; see docs/solution.md).
 */
export function buildSolutionXml(source: SolutionSource, managed: boolean): string {
  let xml = stripDeclaration(source.solution.text);
  if (!/<Managed>\d<\/Managed>/.test(xml)) throw new SolutionError('MissingElement', 'no <Managed> in <SolutionManifest>', source.solution.rel);
  xml = xml.replace(/<Managed>\d<\/Managed>/, `<Managed>${managed ? 1 : 0}</Managed>`);
  const listed = new Set(rootComponents(source).filter((c) => c.type === '61').map((c) => c.schemaName));
  const missing = source.webResources.filter((w) => !listed.has(w.name)).map((w) => w.name).sort();
  if (missing.length > 0) {
    const match = /\n([ \t]*)<\/RootComponents>/.exec(xml);
    if (!match) throw new SolutionError('MissingElement', 'no <RootComponents> in <SolutionManifest>', source.solution.rel);
    const indent = `${match[1] ?? ''}  `;
    const added = missing.map((name) => `\n${indent}<RootComponent type="61" schemaName="${escapeXml(name)}" behavior="0" />`).join('');
    xml = xml.replace(/\n([ \t]*)<\/RootComponents>/, `${added}\n$1</RootComponents>`);
  }
  return `<?xml version="1.0" encoding="utf-8"?>\n${xml}\n`;
}
