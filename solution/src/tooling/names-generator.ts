// Writes generated/names.ts from the solution model: the one source of truth for table, column, choice, setting and role
// names that every other workspace imports. Rendering is a pure function of the model, so staleness is a string compare.
import type { ColumnModel, SolutionModel, TableModel } from '../model';
import { SolutionError } from '../errors';

/** Tables exported by the names module, by export name. */
const TABLE_EXPORTS: Record<string, string> = {
  OutboxMessage: 'obx_outboxmessage',
  OutboxLease: 'obx_outboxlease',
  ChangeCheckpoint: 'obx_changecheckpoint',
};

/** System columns the product reads; the other platform columns stay out of the names module. */
const SYSTEM_COLUMNS_USED = ['createdon', 'modifiedon'];

/** Service Bus application properties are fixed by the spec ("Row -> Service Bus message"), not by the solution XML. */
const MESSAGE_PROPERTIES: Record<string, string> = {
  outboxId: 'outbox-id',
  outboxMessageId: 'outbox-message-id',
  sourceEntity: 'source-entity',
  sourceId: 'source-id',
  outboxSequence: 'outbox-sequence',
};

const quote = (value: string): string => `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;

/** obx_NextAttemptOn -> nextAttemptOn, CreatedOn -> createdOn. */
export function propertyName(schemaName: string, prefix: string): string {
  const bare = schemaName.startsWith(`${prefix}_`) ? schemaName.slice(prefix.length + 1) : schemaName;
  return bare.charAt(0).toLowerCase() + bare.slice(1);
}

/** "Dead Lettered" -> DeadLettered. */
export function memberName(text: string): string {
  const name = text
    .split(/[^A-Za-z0-9]+/)
    .filter(Boolean)
    .map((w) => w.charAt(0).toUpperCase() + w.slice(1))
    .join('');
  if (!/^[A-Za-z]/.test(name)) throw new SolutionError('InvalidValue', `"${text}" does not make an identifier`);
  return name;
}

function exportedColumns(table: TableModel): ColumnModel[] {
  const primary = table.columns.find((c) => c.logicalName === table.primaryIdAttribute);
  const rest = table.columns.filter(
    (c) => c !== primary && (!c.isSystem || SYSTEM_COLUMNS_USED.includes(c.logicalName)),
  );
  const order = (c: ColumnModel): number => (c.isSystem ? 1 : 0);
  return [...(primary ? [primary] : []), ...rest.sort((a, b) => order(a) - order(b))];
}

function renderTable(exportName: string, table: TableModel, prefix: string): string[] {
  const lines: string[] = [];
  lines.push(`/** ${table.logicalName}: ${table.description.replace(/\*\//g, '* /')} */`);
  lines.push(`export const ${exportName} = {`);
  lines.push(`  logicalName: ${quote(table.logicalName)},`);
  lines.push(`  schemaName: ${quote(table.schemaName)},`);
  lines.push(`  entitySetName: ${quote(table.entitySetName)},`);
  lines.push(`  primaryIdAttribute: ${quote(table.primaryIdAttribute)},`);
  lines.push(`  primaryNameAttribute: ${quote(table.primaryNameAttribute)},`);
  lines.push('  columns: {');
  for (const column of exportedColumns(table)) {
    const key = column.logicalName === table.primaryIdAttribute ? 'id' : propertyName(column.schemaName, prefix);
    lines.push(`    ${key}: ${quote(column.logicalName)},`);
  }
  lines.push('  },');
  const lengths = table.columns.filter((c) => !c.isSystem && (c.type === 'string' || c.type === 'memo') && c.maxLength !== undefined);
  lines.push('  maxLength: {');
  for (const column of lengths) lines.push(`    ${column.logicalName}: ${column.maxLength},`);
  lines.push('  },');
  lines.push('  alternateKeys: {');
  for (const key of table.alternateKeys) {
    const name = propertyName(key.schemaName, prefix).replace(/Key$/, '');
    lines.push(`    ${name}: [${key.columns.map(quote).join(', ')}],`);
  }
  lines.push('  },');
  lines.push('} as const;');
  return lines;
}

export function renderNamesModule(model: SolutionModel): string {
  const prefix = model.publisher.customizationPrefix;
  const out: string[] = [
    '// GENERATED from solution/src by `npm run generate -w solution`. Do not edit: change the solution XML and regenerate.',
    '// A test fails when this file no longer matches the XML.',
    '',
    'export const SolutionNames = {',
    `  uniqueName: ${quote(model.uniqueName)},`,
    `  publisherUniqueName: ${quote(model.publisher.uniqueName)},`,
    `  customizationPrefix: ${quote(prefix)},`,
    `  optionValuePrefix: ${model.publisher.optionValuePrefix},`,
    '} as const;',
    '',
  ];
  for (const [exportName, logicalName] of Object.entries(TABLE_EXPORTS)) {
    const table = model.tables.find((t) => t.logicalName === logicalName);
    if (!table) throw new SolutionError('MissingComponent', `the names module needs table ${logicalName}, which the solution does not have`);
    out.push(...renderTable(exportName, table, prefix), '');
  }

  const statusColumn = model.tables.flatMap((t) => t.columns).find((c) => c.optionSetName === 'obx_outboxstatus');
  const status = model.optionSets.find((o) => o.name === 'obx_outboxstatus');
  if (!status) throw new SolutionError('MissingComponent', 'the names module needs global choice obx_outboxstatus');
  out.push(`/** Global choice ${status.name} (${status.displayName}). */`, 'export const OutboxStatus = {');
  for (const option of status.options) out.push(`  ${memberName(option.label)}: ${option.value},`);
  out.push('} as const;');
  out.push('export type OutboxStatusName = keyof typeof OutboxStatus;');
  out.push('export type OutboxStatusValue = (typeof OutboxStatus)[OutboxStatusName];');
  const defaultValue = statusColumn?.defaultValue;
  const defaultMember = status.options.find((o) => o.value === defaultValue);
  if (!defaultMember) throw new SolutionError('InvalidValue', 'the obx_status column has no default value among the obx_outboxstatus options');
  out.push(`export const OutboxStatusChoice = { name: ${quote(status.name)}, default: OutboxStatus.${memberName(defaultMember.label)} } as const;`, '');

  out.push("export type SettingType = 'String' | 'Number' | 'Boolean' | 'JSON';", '');
  out.push('/** Environment variable definitions shipped by the solution (schema name, type, default as stored in the solution). */');
  out.push('export const Settings = {');
  for (const variable of model.environmentVariables) {
    if (!['String', 'Number', 'Boolean', 'JSON'].includes(variable.type)) {
      throw new SolutionError('InvalidValue', `setting ${variable.schemaName} has type ${variable.type}; the product only uses String, Number, Boolean and JSON settings`);
    }
    out.push(
      `  ${propertyName(variable.schemaName, prefix).replace(/^./, (c) => c.toUpperCase())}: {`,
      `    schemaName: ${quote(variable.schemaName)},`,
      `    type: ${quote(variable.type)},`,
      `    defaultValue: ${quote(variable.defaultValue)},`,
      `    appSetting: ${quote(variable.appSetting)},`,
      '  },',
    );
  }
  out.push('} as const satisfies Record<string, { schemaName: string; type: SettingType; defaultValue: string; appSetting: string }>;');
  out.push('export type SettingKey = keyof typeof Settings;', '');

  out.push('/** Security roles shipped by the solution. */', 'export const SecurityRoles = {');
  for (const role of [...model.roles].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
    out.push(`  ${memberName(role.name.replace(/^Outbox\s+/, ''))}: ${quote(role.name)},`);
  }
  out.push('} as const;', '');

  out.push('/** Service Bus application properties set on every published message (spec "Row -> Service Bus message"). */');
  out.push('export const MessageProperties = {');
  for (const [key, value] of Object.entries(MESSAGE_PROPERTIES)) out.push(`  ${key}: ${quote(value)},`);
  out.push('} as const;', '');
  return out.join('\n');
}
