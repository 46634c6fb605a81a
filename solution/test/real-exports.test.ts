// The solution's shapes against facts read from real unpacked exports (test/fixtures/real-exports/shapes.json names
// where each fact was seen). These are the parts that decide whether makers see the monitor and the forms after
// import, which the XSDs do not constrain: a regression, or a new divergence from the exports, fails here.
import fs from 'node:fs';
import path from 'node:path';

import { defaultSolutionSrcDir, repositoryRootDir } from '../src/paths';
import { loadSolutionSource, type SolutionSource } from '../src/tooling/source';
import { attr, child, children, parseXml, type XmlNode } from '../src/tooling/xml';
import { copySolutionSource, editFile } from './helpers';

interface Source { repository: string; path: string; commit: string }
interface BindingPattern { name: string; readOnlyGridFormFactor: string | null; namedControlFormFactors: string[]; seenIn: Source[] }
interface Shapes {
  mainFormDisplayConditions: { shape: { Order: string; FallbackForm: string; children: string[] }; seenIn: Source[] };
  datasetControlBinding: { readOnlyGridClassId: string; patterns: BindingPattern[] };
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
    const sources = [...shapes.mainFormDisplayConditions.seenIn, ...shapes.datasetControlBinding.patterns.flatMap((p) => p.seenIn)];
    expect(sources.length).toBeGreaterThanOrEqual(3);
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
