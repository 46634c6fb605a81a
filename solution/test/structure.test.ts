// Structural checks of the real solution sources: the things import would reject, and the product's own rules.
import fs from 'node:fs';
import path from 'node:path';

import { OutboxMessage, SecurityRoles } from '@dataverse-outbox/contract';
import { defaultSolutionSrcDir, readSolutionModel } from '@dataverse-outbox/solution';
import { buildSolutionModel } from '../src/tooling/read-model';
import { loadSolutionSource } from '../src/tooling/source';
import { controlBindings, descendants, formNode, rootComponents, validateSolution } from '../src/tooling/validate';
import { attr, child, childText, children } from '../src/tooling/xml';
import { solutionWorkspaceDir } from '../src/paths';
import { copySolutionSource, editFile } from './helpers';

const source = loadSolutionSource(defaultSolutionSrcDir);
const model = buildSolutionModel(source);

describe('solution structure', () => {
  it('has no structural problem: references resolve, columns exist, ids are unique, values carry the prefix', () => {
    expect(validateSolution(source, model)).toEqual([]);
  });

  it('reports a problem when a root component, an app component or a relationship points at nothing', () => {
    const copy = copySolutionSource();
    try {
      editFile(path.join(copy.dir, 'AppModules', 'obx_OutboxMonitor', 'AppModule.xml'), (xml) => xml.replace('schemaName="obx_outboxlease"', 'schemaName="obx_outboxleases"'));
      editFile(path.join(copy.dir, 'Other', 'Relationships', 'Organization.xml'), (xml) =>
        xml.replace(/(<EntityRelationship Name="organization_obx_outboxlease">[\s\S]*?<ReferencingAttributeName>)OrganizationId/, '$1OrgId'),
      );
      const copied = loadSolutionSource(copy.dir);
      const problems = validateSolution(copied, buildSolutionModel(copied)).map((p) => `${p.file}: ${p.message}`);
      expect(problems).toEqual(
        expect.arrayContaining([
          'AppModules/obx_OutboxMonitor/AppModule.xml: app component type 1 obx_outboxleases does not exist in the solution',
          expect.stringMatching(/^Other\/Relationships\/Organization.xml: relationship organization_obx_outboxlease uses column OrgId/),
        ]),
      );
    } finally {
      copy.cleanup();
    }
  });

  it('lists the tables, the choice, the roles, the app, its site map and the PCF control as root components', () => {
    const roots = rootComponents(source);
    expect(roots.filter((r) => r.type === '1').map((r) => r.schemaName).sort()).toEqual(model.tables.map((t) => t.logicalName).sort());
    expect(roots.filter((r) => r.type === '20').map((r) => r.id).sort()).toEqual(model.roles.map((r) => r.id).sort());
    expect(roots).toEqual(
      expect.arrayContaining([
        { type: '9', schemaName: 'obx_outboxstatus' },
        { type: '62', schemaName: 'obx_OutboxMonitor' },
        { type: '80', schemaName: 'obx_OutboxMonitor' },
        { type: '66', schemaName: 'obx_Obx.OutboxMonitor' },
      ]),
    );
    // Real exports never list environment variables as root components (solution-zip.md).
    expect(roots.some((r) => r.type === '380' || r.type === '381')).toBe(false);
  });

  it('has the four operator views of the outbox message table, each in the app', () => {
    const table = model.tables.find((t) => t.logicalName === OutboxMessage.logicalName);
    const app = fs.readFileSync(path.join(defaultSolutionSrcDir, 'AppModules', 'obx_OutboxMonitor', 'AppModule.xml'), 'utf8');
    for (const name of ['Pending Outbox Messages', 'Failed and Dead-Lettered Outbox Messages', 'Outbox Messages Published in the Last 24 Hours', 'All Outbox Messages']) {
      const view = table?.views.find((v) => v.name === name);
      expect({ name, public: view?.queryType }).toEqual({ name, public: 0 });
      expect(app).toContain(`<AppModuleComponent type="26" id="{${view?.id ?? ''}}" />`);
    }
    expect(table?.views.filter((v) => v.isDefault && v.queryType === 0).map((v) => v.name)).toEqual(['All Outbox Messages']);
    expect(table?.views.find((v) => v.name === 'Outbox Messages Published in the Last 24 Hours')?.fetchXml).toContain('operator="last-x-hours" value="24"');
  });

  it('registers the form library and its OnLoad handler (with the execution context) on the main form', () => {
    const entity = source.entities.find((e) => e.schemaName === OutboxMessage.schemaName);
    const form = formNode(entity?.forms[0] ?? source.entities[0]!.entity);
    expect(descendants(form, 'Library').map((l) => attr(l, 'name'))).toEqual(['obx_/outbox/outboxmessage.form.js']);
    const onload = descendants(form, 'event').find((e) => attr(e, 'name') === 'onload');
    expect(children(child(onload, 'Handlers'), 'Handler').map((h) => [attr(h, 'functionName'), attr(h, 'libraryName'), attr(h, 'passExecutionContext'), attr(h, 'enabled')])).toEqual([
      ['Obx.Outbox.Form.onLoad', 'obx_/outbox/outboxmessage.form.js', 'true', 'true'],
    ]);
  });

  it('binds the Outbox Monitor PCF control to the outbox message grid on every form factor', () => {
    const bindings = controlBindings(source).filter((b) => b.control === 'obx_Obx.OutboxMonitor');
    expect(bindings.map((b) => b.file)).toEqual(Array(3).fill(`Entities/${OutboxMessage.schemaName}/Entity.xml`));
    expect(bindings.every((b) => b.dataSets.length === 1)).toBe(true);
  });

  it('gives the app a site map with both tables and maps it to the three monitor roles (not Producer: producers write rows, they do not open the app)', () => {
    const siteMap = source.siteMaps[0];
    expect(descendants(child(siteMap?.doc, 'AppModuleSiteMap'), 'SubArea').map((s) => attr(s, 'Entity')).sort()).toEqual(['obx_outboxlease', 'obx_outboxmessage']);
    const app = child(source.appModules[0]?.doc, 'AppModule');
    expect(childText(app, 'UniqueName')).toBe('obx_OutboxMonitor');
    const mapped = children(child(app, 'AppModuleRoleMaps'), 'Role').map((r) => model.roles.find((role) => `{${role.id}}` === attr(r, 'id')?.toLowerCase())?.name);
    expect(mapped.sort()).toEqual([SecurityRoles.Operator, SecurityRoles.Publisher, SecurityRoles.Reader].sort());
  });
  // Each role's exact privileges and the column security profiles: roles.test.ts.
});

describe('deployment settings and MSBuild project', () => {
  const solutionVariables = readSolutionModel().environmentVariables;

  it.each(['dev', 'test', 'prod'])('%s.json is a pac deployment settings file with a valid value for every setting and no secret', (name) => {
    const settings = JSON.parse(fs.readFileSync(path.join(solutionWorkspaceDir, 'deployment-settings', `${name}.json`), 'utf8')) as {
      EnvironmentVariables: { SchemaName: string; Value: string }[];
      ConnectionReferences: unknown[];
    };
    expect(Object.keys(settings)).toEqual(['EnvironmentVariables', 'ConnectionReferences']);
    expect(settings.ConnectionReferences).toEqual([]);
    expect(settings.EnvironmentVariables.map((v) => v.SchemaName).sort()).toEqual(solutionVariables.map((v) => v.schemaName).sort());
    for (const { SchemaName, Value } of settings.EnvironmentVariables) {
      const variable = solutionVariables.find((v) => v.schemaName === SchemaName);
      expect(typeof Value).toBe('string');
      if (variable?.type === 'Number') expect(Number.isInteger(Number(Value))).toBe(true);
      if (variable?.type === 'Boolean') expect(['yes', 'no']).toContain(Value);
      if (variable?.type === 'JSON') expect(() => JSON.parse(Value) as unknown).not.toThrow();
      expect(Value).not.toMatch(/SharedAccessKey|AccountKey|password|secret|Bearer|eyJ[A-Za-z0-9_-]{10,}/i);
    }
  });

  it('solution.cdsproj builds the unpacked src/ folder with Microsoft.PowerApps.MSBuild.Solution', () => {
    const project = fs.readFileSync(path.join(solutionWorkspaceDir, 'solution.cdsproj'), 'utf8');
    expect(project).toContain('<PackageReference Include="Microsoft.PowerApps.MSBuild.Solution" Version="1.*" />');
    expect(project).toContain('<SolutionRootPath>src</SolutionRootPath>');
    expect(project).toContain('<SolutionPackageType>Both</SolutionPackageType>');
  });
});
