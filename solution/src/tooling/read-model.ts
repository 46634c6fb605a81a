// Builds the SolutionModel (model.ts) from the unpacked solution XML. Pure: it knows nothing of HTTP or zips.
import type {
  ColumnModel,
  ColumnType,
  EnvironmentVariableModel,
  FieldSecurityProfileModel,
  OptionSetModel,
  RoleModel,
  SolutionModel,
  TableModel,
  ViewModel,
} from '../model';
import { SolutionError } from '../errors';
import type { EntitySource, SolutionSource, SourceFile } from './source';
import { attr, child, childText, children, label, requiredAttr, requiredText, type XmlNode } from './xml';
import { XMLBuilder } from 'fast-xml-parser';

const COLUMN_TYPES: Record<string, ColumnType> = {
  primarykey: 'uniqueidentifier',
  uniqueidentifier: 'uniqueidentifier',
  nvarchar: 'string',
  ntext: 'memo',
  int: 'integer',
  bigint: 'bigint',
  decimal: 'decimal',
  money: 'money',
  bit: 'boolean',
  datetime: 'datetime',
  picklist: 'picklist',
  state: 'state',
  status: 'status',
  lookup: 'lookup',
  owner: 'owner',
  customer: 'lookup',
};

export const ENVIRONMENT_VARIABLE_TYPES: Record<string, EnvironmentVariableModel['type']> = {
  '100000000': 'String',
  '100000001': 'Number',
  '100000002': 'Boolean',
  '100000003': 'JSON',
  '100000004': 'DataSource',
  '100000005': 'Secret',
};

/** Guid as the model carries it: lower case, no braces. */
export function normalizeGuid(value: string): string {
  return value.replace(/[{}]/g, '').trim().toLowerCase();
}

/** obx_RetentionDays -> OUTBOX_RETENTION_DAYS: the publisher's local override of a solution setting (spec). */
export function appSettingFor(schemaName: string): string {
  const bare = schemaName.replace(/^[a-z0-9]+_/i, '');
  return 'OUTBOX_' + bare.replace(/([a-z0-9])([A-Z])/g, '$1_$2').replace(/([A-Z])([A-Z][a-z])/g, '$1_$2').toUpperCase();
}

export function entityNode(source: EntitySource): XmlNode {
  const entity = child(child(child(source.entity.doc, 'Entity'), 'EntityInfo'), 'entity');
  if (!entity) throw new SolutionError('MissingElement', 'no <Entity><EntityInfo><entity>', source.entity.rel);
  return entity;
}

function readColumns(source: EntitySource, optionSets: readonly OptionSetModel[]): ColumnModel[] {
  const file = source.entity.rel;
  const attributes = children(child(entityNode(source), 'attributes'), 'attribute');
  return attributes.map((node): ColumnModel => {
    const logicalName = requiredText(node, 'LogicalName', file, `attribute ${attr(node, 'PhysicalName') ?? '?'}`);
    const rawType = requiredText(node, 'Type', file, `attribute ${logicalName}`);
    const autoNumberFormat = childText(node, 'AutoNumberFormat') || undefined;
    let type = COLUMN_TYPES[rawType];
    if (!type) throw new SolutionError('InvalidValue', `attribute ${logicalName} has unknown <Type>${rawType}</Type>`, file);
    if (type === 'string' && autoNumberFormat) type = 'autonumber';
    const column: ColumnModel = {
      logicalName,
      schemaName: attr(node, 'PhysicalName') ?? logicalName,
      displayName: label(child(node, 'displaynames'), 'displayname'),
      description: label(child(node, 'Descriptions'), 'Description'),
      type,
      required: childText(node, 'RequiredLevel') === 'required',
      isSystem: childText(node, 'IsCustomField') !== '1',
    };
    const maxLength = childText(node, 'MaxLength');
    if (maxLength && (type === 'string' || type === 'memo' || type === 'autonumber')) column.maxLength = Number(maxLength);
    if (autoNumberFormat) column.autoNumberFormat = autoNumberFormat;
    if (type === 'integer' || type === 'bigint') {
      const min = childText(node, 'MinValue');
      const max = childText(node, 'MaxValue');
      if (min) column.minValue = Number(min);
      if (max) column.maxValue = Number(max);
    }
    if (childText(node, 'IsSecured') === '1') column.isSecured = true;
    if (type === 'picklist') {
      const optionSetName = childText(node, 'OptionSetName');
      if (optionSetName) {
        const set = optionSets.find((o) => o.name === optionSetName);
        if (!set) throw new SolutionError('MissingComponent', `column ${logicalName} uses global choice ${optionSetName}, which is not in OptionSets/`, file);
        column.optionSetName = optionSetName;
        column.options = set.options.map((o) => o.value);
      } else {
        const local = child(node, 'optionset');
        column.optionSetName = attr(local, 'Name');
        column.options = children(child(local, 'options'), 'option').map((o) => Number(attr(o, 'value')));
      }
      const appDefault = childText(node, 'AppDefaultValue');
      if (appDefault !== undefined && appDefault !== '' && appDefault !== '-1') column.defaultValue = Number(appDefault);
    }
    if (type === 'state' || type === 'status') {
      const local = child(node, 'optionset');
      column.optionSetName = attr(local, 'Name');
      column.options =
        type === 'state'
          ? children(child(local, 'states'), 'state').map((s) => Number(attr(s, 'value')))
          : children(child(local, 'statuses'), 'status').map((s) => Number(attr(s, 'value')));
    }
    if (type === 'lookup') {
      // System lookups of a table list no LookupTypes in exports; their targets are fixed by the platform.
      const fixed: Record<string, string> = {
        createdby: 'systemuser',
        modifiedby: 'systemuser',
        createdonbehalfby: 'systemuser',
        modifiedonbehalfby: 'systemuser',
        organizationid: 'organization',
      };
      const declared = children(child(node, 'LookupTypes'), 'LookupType').map((t) => t['#text'] as string);
      const targets = declared.length > 0 ? declared : fixed[logicalName] ? [fixed[logicalName]] : [];
      if (targets.length > 0) column.targets = targets;
    }
    return column;
  });
}

const fetchBuilder = new XMLBuilder({ ignoreAttributes: false, attributeNamePrefix: '@_', suppressEmptyNode: true });

function readViews(source: EntitySource): ViewModel[] {
  return source.views.map((file): ViewModel => {
    const query = child(child(file.doc, 'savedqueries'), 'savedquery');
    if (!query) throw new SolutionError('MissingElement', 'no <savedqueries><savedquery>', file.rel);
    const fetch = child(child(query, 'fetchxml'), 'fetch');
    const row = child(child(child(query, 'layoutxml'), 'grid'), 'row');
    return {
      id: normalizeGuid(requiredText(query, 'savedqueryid', file.rel, 'saved query')),
      name: label(child(query, 'LocalizedNames'), 'LocalizedName'),
      queryType: Number(childText(query, 'querytype') ?? '0'),
      isDefault: childText(query, 'isdefault') === '1',
      fetchXml: fetch ? String(fetchBuilder.build({ fetch })) : '',
      layoutColumns: children(row, 'cell').map((c) => attr(c, 'name') ?? ''),
    };
  });
}

function readTable(source: EntitySource, optionSets: readonly OptionSetModel[]): TableModel {
  const file = source.entity.rel;
  const entity = entityNode(source);
  const nameNode = child(source.entity.doc['Entity'] as XmlNode, 'Name');
  const schemaName = requiredAttr(entity, 'Name', file, '<entity>');
  const columns = readColumns(source, optionSets);
  const primaryId =
    columns.find((c) => c.type === 'uniqueidentifier' && c.logicalName === `${schemaName.toLowerCase()}id`) ??
    columns.find((c) => c.type === 'uniqueidentifier');
  if (!primaryId) throw new SolutionError('MissingElement', 'table has no primary key attribute (<Type>primarykey</Type>)', file);
  const attributes = children(child(entity, 'attributes'), 'attribute');
  const primaryNameNode = attributes.find((a) => (childText(a, 'DisplayMask') ?? '').split('|').includes('PrimaryName'));
  if (!primaryNameNode) throw new SolutionError('MissingElement', 'table has no primary name attribute (DisplayMask PrimaryName)', file);
  const ownership = childText(entity, 'OwnershipTypeMask');
  if (ownership !== 'OrgOwned' && ownership !== 'UserOwned') {
    throw new SolutionError('InvalidValue', `<OwnershipTypeMask> must be OrgOwned or UserOwned, not "${ownership ?? ''}"`, file);
  }
  return {
    logicalName: schemaName.toLowerCase(),
    schemaName,
    entitySetName: requiredText(entity, 'EntitySetName', file, '<entity>'),
    displayName: attr(nameNode, 'LocalizedName') ?? label(child(entity, 'LocalizedNames'), 'LocalizedName'),
    description: label(child(entity, 'Descriptions'), 'Description'),
    primaryIdAttribute: primaryId.logicalName,
    primaryNameAttribute: requiredText(primaryNameNode, 'LogicalName', file, 'primary name attribute'),
    ownership: ownership === 'OrgOwned' ? 'OrganizationOwned' : 'UserOwned',
    changeTrackingEnabled: childText(entity, 'ChangeTrackingEnabled') === '1',
    columns,
    alternateKeys: children(child(entity, 'EntityKeys'), 'EntityKey').map((key) => ({
      logicalName: childText(key, 'LogicalName') ?? requiredText(key, 'Name', file, '<EntityKey>').toLowerCase(),
      schemaName: requiredText(key, 'Name', file, '<EntityKey>'),
      columns: children(child(key, 'EntityKeyAttributes'), 'AttributeName').map((a) => a['#text'] as string),
    })),
    views: readViews(source),
  };
}

export function readOptionSet(file: SourceFile): OptionSetModel {
  const node = child(file.doc, 'optionset');
  return {
    name: requiredAttr(node, 'Name', file.rel, '<optionset>'),
    displayName: attr(node, 'localizedName') ?? label(child(node, 'displaynames'), 'displayname'),
    options: children(child(node, 'options'), 'option').map((o) => ({
      value: Number(requiredAttr(o, 'value', file.rel, '<option>')),
      label: label(child(o, 'labels'), 'label'),
    })),
  };
}

export function readEnvironmentVariable(file: SourceFile): EnvironmentVariableModel {
  const node = child(file.doc, 'environmentvariabledefinition');
  const schemaName = requiredAttr(node, 'schemaname', file.rel, '<environmentvariabledefinition>');
  const typeCode = requiredText(node, 'type', file.rel, schemaName);
  const type = ENVIRONMENT_VARIABLE_TYPES[typeCode];
  if (!type) throw new SolutionError('InvalidValue', `unknown environment variable <type>${typeCode}</type>`, file.rel);
  return {
    schemaName,
    displayName: label(child(node, 'displayname'), 'label') || (attr(child(node, 'displayname'), 'default') ?? ''),
    description: label(child(node, 'description'), 'label') || (attr(child(node, 'description'), 'default') ?? ''),
    type,
    defaultValue: childText(node, 'defaultvalue') ?? '',
    isRequired: childText(node, 'isrequired') === '1',
    appSetting: appSettingFor(schemaName),
  };
}

export function readRole(file: SourceFile): RoleModel {
  const node = child(file.doc, 'Role');
  return {
    id: normalizeGuid(requiredAttr(node, 'id', file.rel, '<Role>')),
    name: requiredAttr(node, 'name', file.rel, '<Role>'),
    privileges: children(child(node, 'RolePrivileges'), 'RolePrivilege').map((p) => ({
      name: requiredAttr(p, 'name', file.rel, '<RolePrivilege>'),
      level: requiredAttr(p, 'level', file.rel, '<RolePrivilege>'),
    })),
  };
}

/** Column security profiles (Other/FieldSecurityProfiles.xml). A permission is granted when its value is 4, as in exports. */
export function readFieldSecurityProfiles(file: SourceFile | undefined): FieldSecurityProfileModel[] {
  if (!file) return [];
  return children(child(file.doc, 'FieldSecurityProfiles'), 'FieldSecurityProfile').map((node) => ({
    id: normalizeGuid(requiredAttr(node, 'fieldsecurityprofileid', file.rel, '<FieldSecurityProfile>')),
    name: requiredAttr(node, 'name', file.rel, '<FieldSecurityProfile>'),
    permissions: children(child(node, 'FieldPermissions'), 'FieldPermission').map((p) => ({
      table: requiredText(p, 'EntityName', file.rel, '<FieldPermission>').toLowerCase(),
      column: requiredText(p, 'AttributeName', file.rel, '<FieldPermission>').toLowerCase(),
      read: childText(p, 'CanRead') === '4',
      update: childText(p, 'CanUpdate') === '4',
      create: childText(p, 'CanCreate') === '4',
    })),
  }));
}

export function buildSolutionModel(source: SolutionSource): SolutionModel {
  const file = source.solution.rel;
  const manifest = child(child(source.solution.doc, 'ImportExportXml'), 'SolutionManifest');
  if (!manifest) throw new SolutionError('MissingElement', 'no <ImportExportXml><SolutionManifest>', file);
  const publisher = child(manifest, 'Publisher');
  const optionValuePrefix = Number(requiredText(publisher, 'CustomizationOptionValuePrefix', file, '<Publisher>'));
  if (!Number.isInteger(optionValuePrefix) || optionValuePrefix < 10000 || optionValuePrefix > 99999) {
    throw new SolutionError('InvalidValue', `CustomizationOptionValuePrefix must be 10000..99999, not ${optionValuePrefix}`, file);
  }
  const optionSets = source.optionSets.map(readOptionSet);
  return {
    uniqueName: requiredText(manifest, 'UniqueName', file, '<SolutionManifest>'),
    displayName: label(child(manifest, 'LocalizedNames'), 'LocalizedName'),
    version: requiredText(manifest, 'Version', file, '<SolutionManifest>'),
    publisher: {
      uniqueName: requiredText(publisher, 'UniqueName', file, '<Publisher>'),
      customizationPrefix: requiredText(publisher, 'CustomizationPrefix', file, '<Publisher>'),
      optionValuePrefix,
    },
    tables: source.entities.map((e) => readTable(e, optionSets)),
    optionSets,
    environmentVariables: source.environmentVariables.map(readEnvironmentVariable),
    roles: source.roles.map(readRole),
    fieldSecurityProfiles: readFieldSecurityProfiles(source.fieldSecurityProfiles),
  };
}
