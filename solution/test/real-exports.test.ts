// The solution's shapes against facts read from real unpacked exports (test/fixtures/real-exports/shapes.json names
// where each fact was seen). These are the parts that decide whether makers see the monitor and the forms after
// import, which the XSDs do not constrain: a regression, or a new divergence from the exports, fails here.
import fs from 'node:fs';
import path from 'node:path';

import { defaultSolutionSrcDir, repositoryRootDir } from '../src/paths';
import { loadSolutionSource, type SolutionSource } from '../src/tooling/source';
import { descendants } from '../src/tooling/validate';
import { attr, child, childText, children, parseXml, type XmlNode } from '../src/tooling/xml';
import { copySolutionSource, editFile } from './helpers';

interface Source { repository: string; path: string; commit: string }
interface BindingPattern { name: string; readOnlyGridFormFactor: string | null; namedControlFormFactors: string[]; seenIn: Source[] }
interface Shapes {
  mainFormDisplayConditions: { shape: { Order: string; FallbackForm: string; children: string[] }; seenIn: Source[] };
  datasetControlBinding: { readOnlyGridClassId: string; patterns: BindingPattern[] };
  memoColumns: { shape: { Format: string; hasMaxLength: boolean; hasLength: boolean }; seenIn: Source[] };
  autonumberColumns: { shape: { ValidForUpdateApi: string; ValidForCreateApi: string }; seenIn: Source[] };
  webResourceLanguageCode: { shape: { forWebResourceType: string; LanguageCode: string; after: string }; seenIn: Source[] };
  relationshipCascadeArchive: { shape: { CascadeArchive: string }; order: string[]; seenIn: Source[] };
}

const shapes = JSON.parse(fs.readFileSync(path.join(__dirname, 'fixtures', 'real-exports', 'shapes.json'), 'utf8')) as Shapes;
const monitorName = 'obx_Obx.OutboxMonitor';

/** What differs between each main form's display conditions and the exports' shape (empty when they match). */
function displayConditionDivergences(source: SolutionSource): string[] {
  const want = shapes.mainFormDisplayConditions.shape;
  return source.entities.flatMap((entity) =>
    entity.forms
      .filter((form) => form.rel.includes('/FormXml/main/'))
      .flatMap((form) => {
        const node = child(child(child(form.doc, 'forms'), 'systemform'), 'form');
        const conditions = child(node, 'DisplayConditions');
        if (!conditions) return [`${form.rel}: no DisplayConditions`];
        const problems: string[] = [];
        if (attr(conditions, 'Order') !== want.Order) problems.push(`${form.rel}: Order=${attr(conditions, 'Order')}`);
        if (attr(conditions, 'FallbackForm') !== want.FallbackForm) problems.push(`${form.rel}: FallbackForm=${attr(conditions, 'FallbackForm')}`);
        const names = Object.keys(conditions).filter((k) => !k.startsWith('@_'));
        if (names.join(',') !== want.children.join(',')) problems.push(`${form.rel}: children ${names.join(',')}`);
        // The exports write it as the last child of <form>; the parsed tree has no order, so read the text.
        if (!/<\/DisplayConditions>\s*<\/form>/.test(form.text)) problems.push(`${form.rel}: DisplayConditions is not the last child of <form>`);
        return problems;
      }),
  );
}

/** Columns, relationships and web resources whose shape differs from the exports' (empty when they all match). */
function columnAndComponentDivergences(source: SolutionSource): string[] {
  const problems: string[] = [];
  const memo = shapes.memoColumns.shape;
  const autonumber = shapes.autonumberColumns.shape;
  for (const entity of source.entities) {
    for (const column of descendants(entity.entity.doc, 'attribute')) {
      const where = `${entity.entity.rel}: ${childText(column, 'LogicalName') ?? '?'}`;
      if (childText(column, 'Type') === 'ntext') {
        if (childText(column, 'Format') !== memo.Format) problems.push(`${where}: ntext Format ${childText(column, 'Format')}`);
        if ((child(column, 'MaxLength') !== undefined) !== memo.hasMaxLength) problems.push(`${where}: ntext MaxLength presence`);
        if ((child(column, 'Length') !== undefined) !== memo.hasLength) problems.push(`${where}: ntext Length presence`);
      }
      if (childText(column, 'AutoNumberFormat')) {
        if (childText(column, 'ValidForUpdateApi') !== autonumber.ValidForUpdateApi) problems.push(`${where}: autonumber ValidForUpdateApi ${childText(column, 'ValidForUpdateApi')}`);
        if (childText(column, 'ValidForCreateApi') !== autonumber.ValidForCreateApi) problems.push(`${where}: autonumber ValidForCreateApi ${childText(column, 'ValidForCreateApi')}`);
      }
    }
  }
  const cascade = shapes.relationshipCascadeArchive;
  for (const file of source.relationships) {
    for (const block of file.text.match(/<EntityRelationship Name="[^"]+">[\s\S]*?<\/EntityRelationship>/g) ?? []) {
      const name = /Name="([^"]+)"/.exec(block)?.[1] ?? '?';
      const order = [...block.matchAll(/<(Cascade\w+)>/g)].map((m) => m[1]);
      if (order.join(',') !== cascade.order.join(',')) problems.push(`${file.rel}: ${name}: cascade order ${order.join(',')}`);
      const archive = /<CascadeArchive>([^<]*)<\/CascadeArchive>/.exec(block)?.[1];
      if (archive !== undefined && archive !== cascade.shape.CascadeArchive) problems.push(`${file.rel}: ${name}: CascadeArchive ${archive}`);
    }
  }
  const language = shapes.webResourceLanguageCode.shape;
  for (const resource of source.webResources) {
    const node = child(resource.dataXml.doc, 'WebResource');
    if (childText(node, 'WebResourceType') !== language.forWebResourceType) continue;
    if (childText(node, 'LanguageCode') !== language.LanguageCode) problems.push(`${resource.dataXml.rel}: LanguageCode ${childText(node, 'LanguageCode')}`);
    else if (!new RegExp(`</${language.after}>\\s*<LanguageCode>`).test(resource.dataXml.text)) problems.push(`${resource.dataXml.rel}: LanguageCode not right after ${language.after}`);
  }
  return problems;
}

/** The monitor's table binding as (formFactor or null, control) pairs, in document order of the export shape. */
function monitorBinding(source: SolutionSource): { readOnlyGrid: XmlNode[]; named: XmlNode[] } {
  const entity = source.entities.find((e) => e.schemaName === 'obx_OutboxMessage');
  const description = child(child(child(child(child(entity?.entity.doc, 'Entity'), 'CustomControlDefaultConfigs'), 'CustomControlDefaultConfig'), 'ControlDescriptionXML'), 'controlDescriptions');
  const controls = children(child(description, 'controlDescription'), 'customControl');
  const gridId = shapes.datasetControlBinding.readOnlyGridClassId.toLowerCase();
  return {
    readOnlyGrid: controls.filter((c) => attr(c, 'id')?.toLowerCase() === gridId),
    named: controls.filter((c) => attr(c, 'name') === monitorName),
  };
}

/** The data-set names the monitor's own manifest declares (what a binding must name). */
function manifestDataSets(): string[] {
  const file = path.join(repositoryRootDir, 'pcf-outbox-monitor', 'OutboxMonitor', 'ControlManifest.Input.xml');
  const doc = parseXml(fs.readFileSync(file, 'utf8'), file);
  return children(child(child(doc, 'manifest'), 'control'), 'data-set').map((d) => attr(d, 'name') ?? '');
}

describe('solution shapes against real exports', () => {
  const source = loadSolutionSource(defaultSolutionSrcDir);

  it('the fixtures name where every fact was seen', () => {
    const sources = [
      ...shapes.mainFormDisplayConditions.seenIn,
      ...shapes.datasetControlBinding.patterns.flatMap((p) => p.seenIn),
      ...shapes.memoColumns.seenIn,
      ...shapes.autonumberColumns.seenIn,
      ...shapes.webResourceLanguageCode.seenIn,
      ...shapes.relationshipCascadeArchive.seenIn,
    ];
    expect(sources.length).toBeGreaterThanOrEqual(13);
    for (const s of sources) {
      expect(s.repository).toMatch(/^[\w.-]+\/[\w.-]+$/);
      expect(s.path).toMatch(/\.xml$/);
      expect(s.commit).toMatch(/^[0-9a-f]{40}$/);
    }
  });

  it('every main form carries the exports\' fallback display conditions for everyone, last in <form>', () => {
    expect(source.entities.flatMap((e) => e.forms).filter((f) => f.rel.includes('/FormXml/main/'))).toHaveLength(3);
    expect(displayConditionDivergences(source)).toEqual([]);
  });

  it('a main form without display conditions, or with another order, is reported', () => {
    const copy = copySolutionSource();
    try {
      const forms = path.join(copy.dir, 'Entities', 'obx_OutboxLease', 'FormXml', 'main');
      const leaseForm = path.join(forms, fs.readdirSync(forms)[0] ?? '');
      editFile(leaseForm, (xml) => xml.replace(/\s*<DisplayConditions[\s\S]*?<\/DisplayConditions>/, ''));
      const messageForms = path.join(copy.dir, 'Entities', 'obx_OutboxMessage', 'FormXml', 'main');
      editFile(path.join(messageForms, fs.readdirSync(messageForms)[0] ?? ''), (xml) => xml.replace('Order="0" FallbackForm="true"', 'Order="1" FallbackForm="true"'));
      const problems = displayConditionDivergences(loadSolutionSource(copy.dir));
      expect(problems).toHaveLength(2);
      expect(problems.join('\n')).toMatch(/obx_OutboxLease\/FormXml\/main\/.*: no DisplayConditions/);
      expect(problems.join('\n')).toMatch(/obx_OutboxMessage\/FormXml\/main\/.*: Order=1/);
    } finally {
      copy.cleanup();
    }
  });

  it('memo and autonumber columns, relationships and JScript web resources have the exports\' shapes', () => {
    // Not vacuous: the solution has four memo columns, one autonumber column, 15 relationships and 3 JScript web resources.
    const columns = source.entities.flatMap((e) => descendants(e.entity.doc, 'attribute'));
    expect(columns.filter((c) => childText(c, 'Type') === 'ntext')).toHaveLength(4);
    expect(columns.filter((c) => childText(c, 'AutoNumberFormat'))).toHaveLength(1);
    expect(source.relationships.flatMap((f) => f.text.match(/<EntityRelationship Name=/g) ?? [])).toHaveLength(15);
    expect(source.webResources).toHaveLength(3);
    expect(columnAndComponentDivergences(source)).toEqual([]);
  });

  it('a memo column with textarea/Length, an autonumber not valid for update, a relationship or web resource missing the exports\' element is reported', () => {
    const copy = copySolutionSource();
    try {
      editFile(path.join(copy.dir, 'Entities', 'obx_OutboxMessage', 'Entity.xml'), (xml) =>
        xml
          .replace(/(<Name>obx_payload<\/Name>[\s\S]*?<Format>)text(<\/Format>)/, '$1textarea$2\n          <Length>2097152</Length>')
          .replace(/(<Name>obx_sequence<\/Name>[\s\S]*?<ValidForUpdateApi>)1/, '$10'),
      );
      editFile(path.join(copy.dir, 'Other', 'Relationships', 'Organization.xml'), (xml) => xml.replace(/\s*<CascadeArchive>NoCascade<\/CascadeArchive>/, ''));
      editFile(path.join(copy.dir, 'WebResources', 'obx_', 'outbox', 'client.js.data.xml'), (xml) => xml.replace(/\s*<LanguageCode>0<\/LanguageCode>/, ''));
      const problems = columnAndComponentDivergences(loadSolutionSource(copy.dir)).join('\n');
      expect(problems).toMatch(/obx_payload: ntext Format textarea/);
      expect(problems).toMatch(/obx_payload: ntext Length presence/);
      expect(problems).toMatch(/obx_sequence: autonumber ValidForUpdateApi 0/);
      expect(problems).toMatch(/Organization\.xml: organization_\w+: cascade order CascadeAssign,CascadeDelete,CascadeReparent/);
      expect(problems).toMatch(/client\.js\.data\.xml: LanguageCode undefined/);
      expect(problems.split('\n')).toHaveLength(5);
    } finally {
      copy.cleanup();
    }
  });

  it('binds the monitor the way an export binds a dataset control on every form factor, read-only grid as fallback', () => {
    // Of the two patterns exports show, the one that makes the monitor the grid on the web as well.
    const pattern = shapes.datasetControlBinding.patterns.find((p) => p.readOnlyGridFormFactor === null);
    expect(pattern?.namedControlFormFactors).toEqual(['0', '1', '2']);
    const { readOnlyGrid, named } = monitorBinding(source);
    expect(readOnlyGrid).toHaveLength(1);
    expect(attr(readOnlyGrid[0], 'formFactor')).toBeUndefined();
    expect(named.map((c) => attr(c, 'formFactor'))).toEqual(pattern?.namedControlFormFactors);
  });

  it('names in each binding the data-set the monitor\'s manifest declares, as exports do for their controls', () => {
    const declared = manifestDataSets();
    expect(declared).toEqual(['records']);
    for (const control of monitorBinding(source).named) {
      expect(children(child(control, 'parameters'), 'data-set').map((d) => attr(d, 'name'))).toEqual(declared);
    }
  });
});
