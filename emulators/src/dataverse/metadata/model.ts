// The emulator's own view of a table: the solution's TableModel plus what the Web API needs to serve it (navigation
// properties, relationships, indexes). Built once at start; read-only afterwards.
import type { ColumnType } from '@dataverse-outbox/solution';
import type { ColumnModel } from '@dataverse-outbox/solution';

export interface AttributeDef {
  readonly logicalName: string;
  readonly schemaName: string;
  readonly type: ColumnType;
  readonly maxLength?: number;
  /** Whole numbers: the range Dataverse accepts (`<MinValue>` / `<MaxValue>` of the column). */
  readonly minValue?: number;
  readonly maxValue?: number;
  readonly required: boolean;
  readonly options?: readonly number[];
  readonly optionLabels?: ReadonlyMap<number, string>;
  readonly defaultValue?: number | string | boolean;
  readonly autoNumberFormat?: string;
  /** Lookup: the referenced table and the single-valued navigation property used in @odata.bind and $expand. */
  readonly target?: string;
  readonly navigationProperty?: string;
  /** Maintained by the platform: ignored when a caller sends it (Dataverse silently drops read-only values). */
  readonly readOnly: boolean;
  /** Column security (`<IsSecured>1`): a caller in no column security profile reads it as null. */
  readonly secured?: true;
}

/** 1:N relationship seen from the referenced ("one") side: a collection-valued navigation property. */
export interface OneToManyDef {
  readonly name: string;
  readonly referencingEntity: string;
  readonly referencingAttribute: string;
}

/** N:N relationship stored in an intersect table. */
export interface ManyToManyDef {
  readonly name: string;
  readonly intersectTable: string;
  readonly entity1: string;
  readonly entity1Attribute: string;
  readonly entity2: string;
  readonly entity2Attribute: string;
}

export interface EntityDef {
  readonly logicalName: string;
  readonly schemaName: string;
  readonly entitySetName: string;
  readonly primaryIdAttribute: string;
  readonly primaryNameAttribute: string;
  readonly changeTrackingEnabled: boolean;
  readonly attributes: ReadonlyMap<string, AttributeDef>;
  readonly alternateKeys: readonly { readonly logicalName: string; readonly columns: readonly string[] }[];
  readonly oneToMany: ReadonlyMap<string, OneToManyDef>;
  /** Extra (non-unique) indexes, each a list of columns, chosen for the queries the product runs at scale. */
  readonly indexes: readonly (readonly string[])[];
}

export function edmType(type: ColumnType): string {
  switch (type) {
    case 'string':
    case 'memo':
    case 'autonumber':
      return 'Edm.String';
    case 'integer':
    case 'picklist':
    case 'state':
    case 'status':
      return 'Edm.Int32';
    case 'bigint':
      return 'Edm.Int64';
    case 'decimal':
    case 'money':
      return 'Edm.Decimal';
    case 'boolean':
      return 'Edm.Boolean';
    case 'datetime':
      return 'Edm.DateTimeOffset';
    case 'uniqueidentifier':
    case 'lookup':
    case 'owner':
      return 'Edm.Guid';
  }
}

/** Name of the property that carries a lookup's value in JSON: `_<logical>_value` (Dataverse convention). */
export function lookupValueProperty(attribute: string): string {
  return `_${attribute}_value`;
}

export function isLookup(a: AttributeDef): boolean {
  return a.type === 'lookup' || a.type === 'owner';
}

/** Small builder so system and business tables read like their Entity.xml. */
export function col(
  logicalName: string,
  type: ColumnType,
  extra: Partial<Omit<ColumnModel, 'logicalName' | 'type'>> & {
    target?: string;
    navigationProperty?: string;
    readOnly?: boolean;
    optionLabels?: Record<number, string>;
  } = {},
): AttributeDef {
  const labels = extra.optionLabels ? new Map(Object.entries(extra.optionLabels).map(([k, v]) => [Number(k), v])) : undefined;
  return {
    logicalName,
    schemaName: extra.schemaName ?? logicalName,
    type,
    maxLength: extra.maxLength ?? (type === 'string' ? 100 : type === 'memo' ? 2000 : type === 'autonumber' ? 100 : undefined),
    ...(extra.minValue !== undefined ? { minValue: extra.minValue } : {}),
    ...(extra.maxValue !== undefined ? { maxValue: extra.maxValue } : {}),
    required: extra.required ?? false,
    options: extra.options ?? (labels ? [...labels.keys()] : undefined),
    optionLabels: labels,
    defaultValue: extra.defaultValue,
    autoNumberFormat: extra.autoNumberFormat,
    target: extra.target ?? extra.targets?.[0],
    navigationProperty: extra.navigationProperty ?? (type === 'lookup' || type === 'owner' ? logicalName : undefined),
    readOnly: extra.readOnly ?? false,
    ...(extra.isSecured ? { secured: true as const } : {}),
  };
}

export interface EntityInput {
  logicalName: string;
  schemaName?: string;
  entitySetName: string;
  primaryIdAttribute?: string;
  primaryNameAttribute: string;
  changeTrackingEnabled?: boolean;
  attributes: AttributeDef[];
  alternateKeys?: { logicalName: string; columns: string[] }[];
  oneToMany?: OneToManyDef[];
  indexes?: string[][];
  /** Add statecode/statuscode (Active/Inactive) when the table does not define its own. */
  withState?: boolean;
}

const ACTIVE_STATE = { 0: 'Active', 1: 'Inactive' };
const ACTIVE_STATUS = { 1: 'Active', 2: 'Inactive' };

/** Completes a table with the columns every Dataverse table has (id, createdon, modifiedon, versionnumber, ...). */
export function defineEntity(input: EntityInput): EntityDef {
  const pk = input.primaryIdAttribute ?? `${input.logicalName}id`;
  const attrs = new Map<string, AttributeDef>();
  const add = (a: AttributeDef): void => {
    if (!attrs.has(a.logicalName)) attrs.set(a.logicalName, a);
  };
  add(col(pk, 'uniqueidentifier'));
  for (const a of input.attributes) attrs.set(a.logicalName, a);
  add(col('createdon', 'datetime', { readOnly: true }));
  add(col('modifiedon', 'datetime', { readOnly: true }));
  add(col('overriddencreatedon', 'datetime'));
  add(col('versionnumber', 'bigint', { readOnly: true }));
  add(col('createdby', 'lookup', { target: 'systemuser', readOnly: true }));
  add(col('modifiedby', 'lookup', { target: 'systemuser', readOnly: true }));
  if (input.withState !== false) {
    add(col('statecode', 'state', { optionLabels: ACTIVE_STATE, defaultValue: 0 }));
    add(col('statuscode', 'status', { optionLabels: ACTIVE_STATUS, defaultValue: 1 }));
  }
  return {
    logicalName: input.logicalName,
    schemaName: input.schemaName ?? input.logicalName,
    entitySetName: input.entitySetName,
    primaryIdAttribute: pk,
    primaryNameAttribute: input.primaryNameAttribute,
    changeTrackingEnabled: input.changeTrackingEnabled ?? false,
    attributes: attrs,
    alternateKeys: input.alternateKeys ?? [],
    oneToMany: new Map((input.oneToMany ?? []).map((r) => [r.name, r])),
    indexes: input.indexes ?? [],
  };
}
