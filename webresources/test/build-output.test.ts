// The built web resources: ES2017-safe, minified, no eval, loadable as classic scripts, registered in the solution
// folder with data.xml files the packer reads, and wired to RibbonDiff.xml by names that really exist.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import vm from 'node:vm';
import * as acorn from 'acorn';
import { WebResourceFiles } from '../src/web-resource-files';
import { isOperatorAction } from '@dataverse-outbox/contract';

const workspace = path.resolve(__dirname, '..');
const solutionSrc = path.resolve(workspace, '../solution/src');
const installedDir = path.join(solutionSrc, 'WebResources', 'obx_', 'outbox');
const ribbonDiffPath = path.join(solutionSrc, 'Entities', 'obx_OutboxMessage', 'RibbonDiff.xml');
const fileOf = (name: string) => name.slice('obx_/outbox/'.length);

let outDir: string;
const built: Record<string, string> = {};

beforeAll(() => {
  outDir = fs.mkdtempSync(path.join(os.tmpdir(), 'obx-webresources-'));
  const result = spawnSync(process.execPath, [path.join(workspace, 'scripts/build.mjs'), '--bundle-only', '--out', outDir], { cwd: workspace, encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`bundle failed:\n${result.stdout}\n${result.stderr}`);
  for (const wr of WebResourceFiles) built[wr.name] = fs.readFileSync(path.join(outDir, fileOf(wr.name)), 'utf8');
}, 120_000);

afterAll(() => {
  if (outDir) fs.rmSync(outDir, { recursive: true, force: true });
});

describe.each(WebResourceFiles.map((wr) => [wr.name] as const))('%s', (name) => {
  it('parses as an ES2017 classic script', () => {
    expect(() => acorn.parse(built[name], { ecmaVersion: 2017, sourceType: 'script' })).not.toThrow();
  });

  it('is minified', () => {
    // Whitespace between tokens (outside strings and templates) is what minification removes: keep it under 3 %.
    const code = built[name];
    const tokens = [...acorn.tokenizer(code, { ecmaVersion: 2017 })];
    let gaps = 0;
    for (let i = 1; i < tokens.length; i++) gaps += tokens[i].start - tokens[i - 1].end;
    const banner = tokens[0].start;
    expect(gaps / (code.length - banner)).toBeLessThan(0.03);
    expect(code.match(/\/\*/g)?.length).toBe(1);
    expect(built[name].length).toBeLessThan(40_000);
  });

  it('contains no eval, new Function or string timers', () => {
    const tokens = [...acorn.tokenizer(built[name], { ecmaVersion: 2017 })] as Array<acorn.Token & { value?: unknown }>;
    for (let i = 0; i < tokens.length; i++) {
      const t = tokens[i];
      expect(t.type.label === 'name' && t.value === 'eval').toBe(false);
      if (t.type.label === 'name' && t.value === 'Function') {
        // `Function` may only appear as a property name (x.Function), never called or constructed.
        const next = tokens[i + 1];
        expect(next && (next.type.label === '(' || next.type.label === '`')).toBe(false);
        const prev = tokens[i - 1];
        expect(prev && prev.type.keyword === 'new').toBe(false);
      }
    }
  });

  it('needs nothing at run time: no imports, no require', () => {
    expect(built[name]).not.toMatch(/\brequire\(|\bimport\(|^import /m);
  });

  it('is what the solution folder holds (run `npm run build -w webresources` after changing webresources/src)', () => {
    const installed = path.join(installedDir, fileOf(name));
    expect(fs.existsSync(installed)).toBe(true);
    expect(fs.readFileSync(installed, 'utf8')).toBe(built[name]);
  });

  it('has a data.xml the solution packer reads (type 3 JScript, fixed id, FileName next to it)', () => {
    const wr = WebResourceFiles.find((w) => w.name === name)!;
    const xml = fs.readFileSync(path.join(installedDir, `${fileOf(name)}.data.xml`), 'utf8');
    const field = (tag: string) => new RegExp(`<${tag}>([^<]*)</${tag}>`).exec(xml)?.[1];
    expect(field('WebResourceId')).toBe(`{${wr.id}}`);
    expect(field('Name')).toBe(name);
    expect(field('DisplayName')).toBe(wr.displayName);
    expect(field('WebResourceType')).toBe('3');
    expect(field('FileName')).toBe(`/WebResources/${name}`);
    for (const flag of ['IsCustomizable', 'CanBeDeleted']) expect(field(flag)).toBe('1');
    expect(field('IsHidden')).toBe('0');
  });
});

it('the build script bundles exactly the entries listed in WebResourceFiles', () => {
  const script = fs.readFileSync(path.join(workspace, 'scripts/build.mjs'), 'utf8');
  for (const wr of WebResourceFiles) expect(script).toContain(`{ entry: '${wr.entry}', file: '${fileOf(wr.name)}' }`);
  expect(fs.readdirSync(outDir).sort()).toEqual(WebResourceFiles.map((wr) => fileOf(wr.name)).sort());
});

describe('the bundles in a page', () => {
  function load(order: string[]): Record<string, unknown> {
    const sandbox: Record<string, unknown> = {};
    vm.createContext(sandbox);
    for (const name of order) vm.runInContext(built[name], sandbox, { filename: name });
    return sandbox;
  }

  it('share one Obx.Outbox namespace whatever the load order', () => {
    for (const order of [
      ['obx_/outbox/client.js', 'obx_/outbox/outboxmessage.form.js', 'obx_/outbox/commands.js'],
      ['obx_/outbox/commands.js', 'obx_/outbox/outboxmessage.form.js', 'obx_/outbox/client.js'],
    ]) {
      const outbox = (load(order).Obx as { Outbox: Record<string, Record<string, unknown>> }).Outbox;
      expect(typeof outbox.commitWithOutbox).toBe('function');
      expect(typeof outbox.outboxMessageFromForm).toBe('function');
      expect(typeof outbox.Form.onLoad).toBe('function');
      expect(typeof outbox.Commands.runFromGrid).toBe('function');
    }
  });

  it('the bundled commitWithOutbox validates before sending', async () => {
    const sandbox = load(['obx_/outbox/client.js']);
    const outbox = (sandbox.Obx as { Outbox: { commitWithOutbox: (c: unknown, m: unknown, o: unknown) => Promise<unknown>; isOutboxCommitError: (e: unknown) => boolean } }).Outbox;
    const calls: unknown[] = [];
    const webApi = { executeMultiple: (r: unknown) => (calls.push(r), Promise.resolve([])) };
    const error = await outbox.commitWithOutbox([], { target: 'q', payload: {} }, { webApi }).catch((e: unknown) => e);
    expect(outbox.isOutboxCommitError(error)).toBe(true);
    expect((error as { code: string }).code).toBe('NoChanges');
    expect(calls).toEqual([]);
  });

  it('every function RibbonDiff.xml calls exists in the library it names, with valid command names', () => {
    const ribbon = fs.readFileSync(ribbonDiffPath, 'utf8');
    const outbox = load(WebResourceFiles.map((w) => w.name)).Obx as Record<string, unknown>;
    const calls = [...ribbon.matchAll(/<(?:JavaScriptFunction|CustomRule) Library="\$webresource:([^"]+)" FunctionName="([^"]+)"[^>]*>([\s\S]*?)<\/(?:JavaScriptFunction|CustomRule)>/g)];
    expect(calls.length).toBe(12);
    for (const [, library, functionName, params] of calls) {
      expect(WebResourceFiles.map((w) => w.name)).toContain(library);
      expect(library).toBe('obx_/outbox/commands.js');
      const resolved = functionName.split('.').slice(1).reduce<unknown>((obj, key) => (obj as Record<string, unknown> | undefined)?.[key], outbox);
      expect([functionName, typeof resolved]).toEqual([functionName, 'function']);
      const command = /<StringParameter Value="([^"]+)"/.exec(params)?.[1];
      expect(isOperatorAction(command)).toBe(true);
    }
  });
});

describe('RibbonDiff.xml', () => {
  const schemaDir = process.env.OUTBOX_DATAVERSE_SCHEMAS ?? path.resolve(workspace, '../../shared/schemas/dataverse');
  const xmllint = spawnSync('xmllint', ['--version'], { encoding: 'utf8' });
  const canValidate = xmllint.status === 0 && fs.existsSync(path.join(schemaDir, 'RibbonCore.xsd'));

  (canValidate ? it : it.skip)("validates against Microsoft's ribbon schema (RibbonCore.xsd)", () => {
    const result = spawnSync('xmllint', ['--noout', '--schema', path.join(schemaDir, 'RibbonCore.xsd'), ribbonDiffPath], { encoding: 'utf8' });
    expect(result.stderr).toContain('validates');
    expect(result.status).toBe(0);
  });

  it('puts Retry, Replay and Cancel on the main grid and on the form, grid commands needing a selection', () => {
    const ribbon = fs.readFileSync(ribbonDiffPath, 'utf8');
    for (const label of ['Retry', 'Replay', 'Cancel']) {
      expect(ribbon).toContain(`Location="Mscrm.HomepageGrid.obx_outboxmessage.MainTab.Management.Controls._children"`);
      expect(ribbon).toContain(`<Button Id="obx.obx_outboxmessage.Grid.${label}.Button"`);
      expect(ribbon).toContain(`<Button Id="obx.obx_outboxmessage.Form.${label}.Button"`);
      const grid = new RegExp(`<CommandDefinition Id="obx.obx_outboxmessage.Grid.${label}.Command">([\\s\\S]*?)</CommandDefinition>`).exec(ribbon)![1];
      expect(grid).toContain('obx.obx_outboxmessage.Grid.AtLeastOneSelected.EnableRule');
      expect(grid).toContain(`obx.obx_outboxmessage.Grid.${label}.EnableRule`);
    }
    expect(ribbon).toMatch(/<SelectionCountRule AppliesTo="SelectedEntity" Minimum="1" \/>/);
  });
});
