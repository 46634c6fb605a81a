// Structural checks of the unpacked solution: the things Dataverse import would reject (dangling references,
// unknown columns, duplicate ids, wrong option value prefix, privileges for tables that do not exist).
// Every problem names its file; all problems are reported together so one run shows everything to fix.
import fs from 'node:fs';
import path from 'node:path';

import type { SolutionModel, TableModel } from '../model';
import { SolutionError, type SolutionErrorCode, type SolutionProblemInfo } from '../errors';
import { entityNode, normalizeGuid } from './read-model';
import type { SolutionSource, SourceFile } from './source';
import { attr, child, childText, children, parseXml, type XmlNode, type XmlValue } from './xml';

export type SolutionProblem = SolutionProblemInfo;

/** Root component types this packer understands (dataverse.md section 1). */
export const ROOT_COMPONENT_TYPES: Record<string, string> = {
  '1': 'table',
  '9': 'global choice',
  '20': 'security role',
  '26': 'view',
  '60': 'form',
  '61': 'web resource',
  '62': 'site map',
  '66': 'custom control',
  '70': 'field security profile',
  '80': 'model-driven app',
};

/** CanRead / CanUpdate / CanCreate as exported: 0 not allowed, 4 allowed. */
const FIELD_PERMISSION_VALUES = new Set(['0', '4']);

/** Platform privileges the roles may hold besides those of the solution's own tables. */
export const PLATFORM_PRIVILEGES = new Set(['prvReadEnvironmentVariableDefinition', 'prvReadEnvironmentVariableValue']);

const TABLE_PRIVILEGE = /^prv(Create|Read|Write|Delete|Append|AppendTo|Assign|Share)(.+)$/;

/** Every element (at any depth) with this name. */
export function descendants(node: XmlValue | undefined, name: string): XmlNode[] {
  const found: XmlNode[] = [];
  const visit = (value: XmlValue | undefined): void => {
    if (value === undefined || typeof value === 'string') return;
    if (Array.isArray(value)) {
      value.forEach(visit);
      return;
    }
    for (const [key, inner] of Object.entries(value)) {
      if (key.startsWith('@_') || key === '#text') continue;
      if (key === name) found.push(...children(value, name));
      visit(inner);
    }
  };
  visit(node);
  return found;
}

export function rootComponents(source: SolutionSource): { type: string; schemaName?: string; id?: string }[] {
  const manifest = child(child(source.solution.doc, 'ImportExportXml'), 'SolutionManifest');
  return children(child(manifest, 'RootComponents'), 'RootComponent').map((c) => {
    const entry: { type: string; schemaName?: string; id?: string } = { type: attr(c, 'type') ?? '' };
    const schemaName = attr(c, 'schemaName');
    const id = attr(c, 'id');
    if (schemaName) entry.schemaName = schemaName;
    if (id) entry.id = normalizeGuid(id);
    return entry;
  });
}

export function formNode(file: SourceFile): XmlNode | undefined {
  return child(child(file.doc, 'forms'), 'systemform');
}

export function viewNode(file: SourceFile): XmlNode | undefined {
  return child(child(file.doc, 'savedqueries'), 'savedquery');
}

export function appModuleNode(file: SourceFile): XmlNode | undefined {
  return child(file.doc, 'AppModule');
}

export function siteMapNode(file: SourceFile): XmlNode | undefined {
  return child(file.doc, 'AppModuleSiteMap');
}

/** data-set names bound to a custom control in an entity's CustomControlDefaultConfigs, by control name. */
export function controlBindings(source: SolutionSource): { file: string; control: string; dataSets: string[] }[] {
  return source.entities.flatMap((entity) =>
    descendants(child(entity.entity.doc, 'Entity'), 'customControl')
      .filter((c) => attr(c, 'name'))
      .map((c) => ({
        file: entity.entity.rel,
        control: attr(c, 'name') ?? '',
        dataSets: children(child(c, 'parameters'), 'data-set').map((d) => attr(d, 'name') ?? ''),
      })),
  );
}

export function validateSolution(source: SolutionSource, model: SolutionModel): SolutionProblem[] {
  const problems: SolutionProblem[] = [];
  const report = (code: SolutionErrorCode, file: string, message: string): void => {
    problems.push({ code, file, message });
  };
  const tablesByLogical = new Map(model.tables.map((t) => [t.logicalName, t]));
  const columnExists = (table: TableModel, column: string): boolean => table.columns.some((c) => c.logicalName === column.toLowerCase());

  // Unique ids: a GUID defines at most one thing.
  const seen = new Map<string, string>();
  const define = (guid: string | undefined, file: string, what: string): void => {
    if (!guid) return;
    const key = normalizeGuid(guid);
    const previous = seen.get(key);
    if (previous) report('DuplicateId', file, `${what} uses GUID {${key}}, already used by ${previous}`);
    else seen.set(key, `${what} in ${file}`);
  };

  for (const entity of source.entities) {
    const table = model.tables.find((t) => t.schemaName === entity.schemaName);
    if (!table) {
      report('InvalidValue', entity.entity.rel, `folder Entities/${entity.schemaName} does not match <entity Name> of its Entity.xml`);
      continue;
    }
    for (const key of table.alternateKeys) {
      for (const column of key.columns) {
        if (!columnExists(table, column)) report('MissingColumn', entity.entity.rel, `alternate key ${key.schemaName} names column ${column}, which ${table.logicalName} does not have`);
      }
    }
    // Choice values carry the publisher's option value prefix (custom columns only; state/status are platform values).
    for (const column of table.columns) {
      if (column.type !== 'picklist' || column.isSystem || column.optionSetName === undefined) continue;
      if (column.defaultValue !== undefined && !(column.options ?? []).includes(Number(column.defaultValue))) {
        report('InvalidValue', entity.entity.rel, `column ${column.logicalName} defaults to ${column.defaultValue}, which is not one of its choice values`);
      }
    }
    for (const config of descendants(child(entity.entity.doc, 'Entity'), 'CustomControlDefaultConfigId')) {
      define(config['#text'] as string, entity.entity.rel, 'custom control default config');
    }

    for (const view of entity.views) {
      const node = viewNode(view);
      define(childText(node, 'savedqueryid'), view.rel, 'view');
      const fetchEntity = child(child(child(node, 'fetchxml'), 'fetch'), 'entity');
      const fetchTable = attr(fetchEntity, 'name');
      if (fetchTable !== table.logicalName) {
        report('InvalidValue', view.rel, `FetchXML queries "${fetchTable ?? ''}" but the view belongs to ${table.logicalName}`);
        continue;
      }
      const named = [
        ...children(fetchEntity, 'attribute').map((a) => attr(a, 'name')),
        ...descendants(fetchEntity, 'order').map((o) => attr(o, 'attribute')),
        ...descendants(fetchEntity, 'condition').map((c) => attr(c, 'attribute')),
        ...descendants(child(node, 'layoutxml'), 'cell').map((c) => attr(c, 'name')),
      ];
      for (const column of named) {
        if (column && !columnExists(table, column)) report('MissingColumn', view.rel, `view names column ${column}, which ${table.logicalName} does not have`);
      }
      const row = child(child(child(node, 'layoutxml'), 'grid'), 'row');
      if (attr(row, 'id') !== table.primaryIdAttribute) report('InvalidValue', view.rel, `layoutxml row id must be the primary key ${table.primaryIdAttribute}`);
    }

    for (const form of entity.forms) {
      const node = formNode(form);
      define(childText(node, 'formid'), form.rel, 'form');
      for (const tagged of [...descendants(node, 'tab'), ...descendants(node, 'section'), ...descendants(node, 'cell')]) {
        define(attr(tagged, 'id'), form.rel, 'form tab/section/cell');
      }
      for (const control of descendants(node, 'control')) {
        const field = attr(control, 'datafieldname');
        if (field && !columnExists(table, field)) report('MissingColumn', form.rel, `form control ${attr(control, 'id') ?? ''} binds column ${field}, which ${table.logicalName} does not have`);
      }
      const libraries = descendants(node, 'Library').map((l) => attr(l, 'name') ?? '');
      for (const library of descendants(node, 'Library')) define(attr(library, 'libraryUniqueId'), form.rel, 'form library');
      for (const library of libraries) {
        if (!source.webResources.some((w) => w.name === library)) {
          report('MissingComponent', form.rel, `form library ${library} is not a registered web resource (no WebResources/**/*.data.xml names it)`);
        }
      }
      for (const handler of descendants(node, 'Handler')) {
        define(attr(handler, 'handlerUniqueId'), form.rel, 'form event handler');
        const library = attr(handler, 'libraryName') ?? '';
        if (!libraries.includes(library)) report('MissingComponent', form.rel, `event handler ${attr(handler, 'functionName') ?? ''} uses library ${library}, which is not in <formLibraries>`);
      }
    }
  }

  for (const set of model.optionSets) {
    const file = source.optionSets.find((f) => attr(child(f.doc, 'optionset'), 'Name') === set.name)?.rel ?? 'OptionSets';
    const values = set.options.map((o) => o.value);
    if (new Set(values).size !== values.length) report('DuplicateId', file, `choice ${set.name} repeats a value`);
    for (const value of values) {
      if (Math.floor(value / 10000) !== model.publisher.optionValuePrefix) {
        report('InvalidValue', file, `choice value ${value} does not carry the option value prefix ${model.publisher.optionValuePrefix} (expected ${model.publisher.optionValuePrefix}0000..${model.publisher.optionValuePrefix}9999)`);
      }
    }
  }

  const prefix = model.publisher.customizationPrefix;
  for (const variable of model.environmentVariables) {
    const file = source.environmentVariables.find((f) => attr(child(f.doc, 'environmentvariabledefinition'), 'schemaname') === variable.schemaName)?.rel ?? '';
    if (!variable.schemaName.startsWith(`${prefix}_`)) report('InvalidValue', file, `environment variable ${variable.schemaName} must start with the publisher prefix ${prefix}_`);
    if (variable.schemaName.length > 100) report('InvalidValue', file, `environment variable schema name is longer than 100 characters`);
    if (path.basename(path.dirname(file)) !== variable.schemaName) report('InvalidValue', file, `folder name must equal the schema name ${variable.schemaName}`);
    const value = variable.defaultValue;
    if (variable.type === 'Number' && value !== '' && !Number.isFinite(Number(value))) report('InvalidValue', file, `default "${value}" is not a number`);
    if (variable.type === 'Boolean' && value !== '' && value !== 'yes' && value !== 'no') report('InvalidValue', file, `Boolean default must be "yes" or "no", not "${value}"`);
    if (variable.type === 'JSON' && value !== '') {
      try {
        JSON.parse(value);
      } catch {
        report('InvalidValue', file, `default is not valid JSON: ${value}`);
      }
    }
  }

  for (const [index, role] of model.roles.entries()) {
    const file = source.roles[index]?.rel ?? 'Roles';
    define(role.id, file, `role ${role.name}`);
    const names = role.privileges.map((p) => p.name);
    if (new Set(names).size !== names.length) report('DuplicateId', file, `role ${role.name} lists a privilege twice`);
    for (const privilege of role.privileges) {
      if (PLATFORM_PRIVILEGES.has(privilege.name)) continue;
      const match = TABLE_PRIVILEGE.exec(privilege.name);
      const table = match ? model.tables.find((t) => t.schemaName === match[2]) : undefined;
      if (!match || !table) {
        const near = match ? model.tables.find((t) => t.schemaName.toLowerCase() === match[2].toLowerCase()) : undefined;
        report('MissingComponent', file, near
          ? `privilege ${privilege.name} must use the table's schema name exactly: prv${match?.[1] ?? ''}${near.schemaName}`
          : `privilege ${privilege.name} names no table of this solution and is not an allowed platform privilege`);
        continue;
      }
      if (table.ownership === 'OrganizationOwned' && privilege.level !== 'Global') {
        report('InvalidValue', file, `${privilege.name}: organization-owned tables only have Global (organization) depth, not ${privilege.level}`);
      }
      if (table.ownership === 'OrganizationOwned' && (match[1] === 'Assign' || match[1] === 'Share')) {
        report('InvalidValue', file, `${privilege.name}: organization-owned tables cannot be assigned or shared`);
      }
    }
  }

  // Column security: each profile names secured columns that exist, with values import accepts, and covers every
  // secured column (a column a profile leaves out is unreadable for its members: say so explicitly with 0s instead).
  const profileFile = source.fieldSecurityProfiles?.rel ?? 'Other/FieldSecurityProfiles.xml';
  const securedColumns = model.tables.flatMap((t) => t.columns.filter((c) => c.isSecured).map((c) => `${t.logicalName}.${c.logicalName}`));
  const profileNodes = children(child(source.fieldSecurityProfiles?.doc, 'FieldSecurityProfiles'), 'FieldSecurityProfile');
  for (const [index, profile] of model.fieldSecurityProfiles.entries()) {
    define(profile.id, profileFile, `field security profile ${profile.name}`);
    const listed = profile.permissions.map((p) => `${p.table}.${p.column}`);
    if (new Set(listed).size !== listed.length) report('DuplicateId', profileFile, `field security profile ${profile.name} lists a column twice`);
    for (const permission of profile.permissions) {
      const table = tablesByLogical.get(permission.table);
      const column = table?.columns.find((c) => c.logicalName === permission.column);
      if (!table || !column) report('MissingColumn', profileFile, `field security profile ${profile.name} names ${permission.table}.${permission.column}, which the solution does not have`);
      else if (!column.isSecured) report('InvalidValue', profileFile, `field security profile ${profile.name} names ${permission.table}.${permission.column}, which is not secured (<IsSecured>1</IsSecured>)`);
    }
    for (const node of children(child(profileNodes[index], 'FieldPermissions'), 'FieldPermission')) {
      for (const name of ['CanRead', 'CanUpdate', 'CanCreate']) {
        const value = childText(node, name) ?? '';
        if (!FIELD_PERMISSION_VALUES.has(value)) report('InvalidValue', profileFile, `field security profile ${profile.name}: ${childText(node, 'AttributeName') ?? '?'} ${name} must be 0 or 4, not "${value}"`);
      }
    }
    for (const secured of securedColumns.filter((c) => !listed.includes(c))) {
      report('MissingColumn', profileFile, `field security profile ${profile.name} does not say what its members may do with secured column ${secured}`);
    }
  }

  // Relationships: each referencing column exists, and the index lists exactly the defined relationships.
  const defined: string[] = [];
  for (const file of source.relationships) {
    for (const relationship of children(child(file.doc, 'EntityRelationships'), 'EntityRelationship')) {
      const name = attr(relationship, 'Name') ?? '';
      defined.push(name);
      const referencing = (childText(relationship, 'ReferencingEntityName') ?? '').toLowerCase();
      const table = tablesByLogical.get(referencing);
      const column = childText(relationship, 'ReferencingAttributeName') ?? '';
      if (table && !columnExists(table, column)) report('MissingColumn', file.rel, `relationship ${name} uses column ${column}, which ${table.logicalName} does not have`);
      if (!table && referencing.startsWith(`${prefix}_`)) report('MissingComponent', file.rel, `relationship ${name} references table ${referencing}, which the solution does not have`);
    }
  }
  const listed = children(child(source.relationshipsIndex?.doc, 'EntityRelationships'), 'EntityRelationship').map((r) => attr(r, 'Name') ?? '');
  for (const name of defined.filter((n) => !listed.includes(n))) report('MissingComponent', 'Other/Relationships.xml', `relationship ${name} is defined but not listed`);
  for (const name of listed.filter((n) => !defined.includes(n))) report('MissingComponent', 'Other/Relationships.xml', `relationship ${name} is listed but defined in no Other/Relationships/*.xml`);
  if (new Set(defined).size !== defined.length) report('DuplicateId', 'Other/Relationships', 'a relationship name is defined twice');

  for (const resource of source.webResources) define(resource.id, resource.dataXml.rel, `web resource ${resource.name}`);
  const webResourceNames = source.webResources.map((w) => w.name);
  if (new Set(webResourceNames).size !== webResourceNames.length) report('DuplicateId', 'WebResources', 'two web resources have the same name');

  // Site maps and apps reference existing components.
  const viewIds = new Set(source.entities.flatMap((e) => e.views.map((v) => normalizeGuid(childText(viewNode(v), 'savedqueryid') ?? ''))));
  const formIds = new Set(source.entities.flatMap((e) => e.forms.map((f) => normalizeGuid(childText(formNode(f), 'formid') ?? ''))));
  const siteMapNames = source.siteMaps.map((s) => childText(siteMapNode(s), 'SiteMapUniqueName') ?? '');
  const appNames = source.appModules.map((a) => childText(appModuleNode(a), 'UniqueName') ?? '');
  const roleIds = new Set(model.roles.map((r) => r.id));
  for (const siteMap of source.siteMaps) {
    for (const subArea of descendants(siteMapNode(siteMap), 'SubArea')) {
      const entity = attr(subArea, 'Entity');
      if (entity && !tablesByLogical.has(entity)) report('MissingComponent', siteMap.rel, `site map area ${attr(subArea, 'Id') ?? ''} opens table ${entity}, which the solution does not have`);
    }
  }
  const exists = (type: string, schemaName: string | undefined, id: string | undefined): boolean => {
    switch (type) {
      case '1': return tablesByLogical.has((schemaName ?? '').toLowerCase());
      case '9': return model.optionSets.some((o) => o.name === schemaName);
      case '20': return roleIds.has(id ?? '');
      case '26': return viewIds.has(id ?? '');
      case '60': return formIds.has(id ?? '');
      case '61': return webResourceNames.includes(schemaName ?? '');
      case '62': return siteMapNames.includes(schemaName ?? '');
      case '66': return source.controls.some((c) => c.name === schemaName);
      case '70': return model.fieldSecurityProfiles.some((p) => p.id === id);
      case '80': return appNames.includes(schemaName ?? '');
      default: return false;
    }
  };
  for (const component of rootComponents(source)) {
    if (!ROOT_COMPONENT_TYPES[component.type]) {
      report('InvalidValue', source.solution.rel, `RootComponent type ${component.type} is not one this packer knows (${Object.keys(ROOT_COMPONENT_TYPES).join(', ')})`);
    } else if (!exists(component.type, component.schemaName, component.id)) {
      report('MissingComponent', source.solution.rel, `RootComponent type ${component.type} (${ROOT_COMPONENT_TYPES[component.type]}) ${component.schemaName ?? `{${component.id ?? ''}}`} does not exist in the solution`);
    }
  }
  for (const app of source.appModules) {
    const node = appModuleNode(app);
    const folder = path.basename(path.dirname(app.rel));
    if (childText(node, 'UniqueName') !== folder) report('InvalidValue', app.rel, `<UniqueName> must equal the folder name ${folder}`);
    for (const component of children(child(node, 'AppModuleComponents'), 'AppModuleComponent')) {
      const type = attr(component, 'type') ?? '';
      const schemaName = attr(component, 'schemaName');
      const id = attr(component, 'id');
      if (!exists(type, schemaName, id ? normalizeGuid(id) : undefined)) {
        report('MissingComponent', app.rel, `app component type ${type} ${schemaName ?? id ?? ''} does not exist in the solution`);
      }
    }
    for (const role of children(child(node, 'AppModuleRoleMaps'), 'Role')) {
      if (!roleIds.has(normalizeGuid(attr(role, 'id') ?? ''))) report('MissingComponent', app.rel, `app role map names role ${attr(role, 'id') ?? ''}, which the solution does not have`);
    }
  }

  for (const binding of controlBindings(source)) {
    if (!source.controls.some((c) => c.name === binding.control)) {
      report('MissingComponent', binding.file, `grid binds custom control ${binding.control}, which has no Controls/${binding.control}/ControlManifest.xml.data.xml`);
    }
  }

  // Entity keys: each key's name must be unique within its table.
  for (const entity of source.entities) {
    const keys = children(child(entityNode(entity), 'EntityKeys'), 'EntityKey').map((k) => childText(k, 'Name'));
    if (new Set(keys).size !== keys.length) report('DuplicateId', entity.entity.rel, 'two alternate keys have the same name');
  }
  return problems;
}

/** Files the packer needs that other builds produce (web resources, PCF control). Empty when everything is built. */
export function missingBuiltFiles(source: SolutionSource): SolutionProblem[] {
  const problems: SolutionProblem[] = [];
  for (const resource of source.webResources) {
    if (!fs.existsSync(resource.contentPath)) {
      problems.push({
        code: 'MissingBuiltFile',
        file: resource.dataXml.rel,
        message: `web resource ${resource.name} is registered but its file ${path.relative(source.srcDir, resource.contentPath).split(path.sep).join('/')} has not been built (run npm run build -w webresources)`,
      });
    }
  }
  const bindings = controlBindings(source);
  for (const control of source.controls) {
    const rel = path.relative(source.srcDir, control.dir).split(path.sep).join('/');
    for (const required of ['ControlManifest.xml', 'bundle.js']) {
      if (!fs.existsSync(path.join(control.dir, required))) {
        problems.push({
          code: 'MissingBuiltFile',
          file: control.dataXml.rel,
          message: `custom control ${control.name} is registered but ${rel}/${required} has not been built (run npm run build -w pcf-outbox-monitor, then pack again)`,
        });
      }
    }
    const manifestPath = path.join(control.dir, 'ControlManifest.xml');
    if (fs.existsSync(manifestPath)) {
      const manifestRel = `${rel}/ControlManifest.xml`;
      let manifest: XmlNode;
      try {
        manifest = parseXml(fs.readFileSync(manifestPath, 'utf8'), manifestRel);
      } catch (error) {
        problems.push({ code: 'MalformedXml', file: manifestRel, message: (error as Error).message });
        continue;
      }
      const controlNode = child(child(manifest, 'manifest'), 'control');
      const builtName = `${controlPrefix(control.name)}_${attr(controlNode, 'namespace') ?? ''}.${attr(controlNode, 'constructor') ?? ''}`;
      if (builtName !== control.name) {
        problems.push({ code: 'InvalidValue', file: manifestRel, message: `built manifest is for ${builtName}, but the folder registers ${control.name}` });
      }
      const dataSets = children(controlNode, 'data-set').map((d) => attr(d, 'name') ?? '');
      for (const binding of bindings.filter((b) => b.control === control.name)) {
        for (const dataSet of binding.dataSets) {
          if (!dataSets.includes(dataSet)) {
            problems.push({ code: 'InvalidValue', file: binding.file, message: `binds data-set "${dataSet}" of ${control.name}, but its built manifest declares ${dataSets.length ? dataSets.map((d) => `"${d}"`).join(', ') : 'no data-set'}` });
          }
        }
      }
    }
  }
  return problems;
}

function controlPrefix(controlName: string): string {
  return controlName.split('_')[0] ?? '';
}

export function throwIfProblems(all: readonly SolutionProblem[]): void {
  const unique = new Map(all.map((p) => [`${p.file}\n${p.message}`, p]));
  const problems = [...unique.values()];
  if (problems.length === 0) return;
  const first = problems[0] as SolutionProblem;
  const lines = problems.map((p) => `  ${p.file}: ${p.message}`);
  throw new SolutionError(first.code, `${problems.length} problem(s) in the solution source:\n${lines.join('\n')}`, first.file, problems);
}
