// A read-only subset of the metadata Web API (Microsoft Learn: "Query table definitions using the Web API"):
// `EntityDefinitions`, `EntityDefinitions(<MetadataId>|LogicalName='x')`, its `Attributes` (optionally cast to one
// attribute metadata type) and `Attributes(<MetadataId>|LogicalName='x')`, with `$select` and `$filter` of `eq`
// comparisons joined by `or`/`and`. Generated from the tables the emulator serves (the solution's own among them), it
// carries what client libraries read: entity set names, primary id and name, attributes with their types.
import { createHash } from 'node:crypto';
import { DataverseErrors } from '../core/errors';
import type { Engine } from '../core/engine';
import type { ResourceKey, ResourcePath } from '../core/paths';
import { jsonResponse, type ApiRequest, type ApiResponse, type RequestContext } from '../core/protocol';
import type { ColumnType } from '@dataverse-outbox/solution';
import type { AttributeDef, EntityDef } from '../metadata/model';

type Definition = Record<string, unknown>;

/** A stable MetadataId per name (Dataverse ids are fixed per environment; these are fixed per name). */
function metadataId(name: string): string {
  const h = createHash('sha1').update(`dataverse-emulator:${name}`).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

/** AttributeType, AttributeTypeName and the @odata.type of each column type (AttributeMetadata's derived types). */
const ATTRIBUTE_TYPES: Record<ColumnType, { type: string; typeName: string; metadata: string }> = {
  string: { type: 'String', typeName: 'StringType', metadata: 'StringAttributeMetadata' },
  autonumber: { type: 'String', typeName: 'StringType', metadata: 'StringAttributeMetadata' },
  memo: { type: 'Memo', typeName: 'MemoType', metadata: 'MemoAttributeMetadata' },
  integer: { type: 'Integer', typeName: 'IntegerType', metadata: 'IntegerAttributeMetadata' },
  bigint: { type: 'BigInt', typeName: 'BigIntType', metadata: 'BigIntAttributeMetadata' },
  decimal: { type: 'Decimal', typeName: 'DecimalType', metadata: 'DecimalAttributeMetadata' },
  money: { type: 'Money', typeName: 'MoneyType', metadata: 'MoneyAttributeMetadata' },
  boolean: { type: 'Boolean', typeName: 'BooleanType', metadata: 'BooleanAttributeMetadata' },
  datetime: { type: 'DateTime', typeName: 'DateTimeType', metadata: 'DateTimeAttributeMetadata' },
  uniqueidentifier: { type: 'Uniqueidentifier', typeName: 'UniqueidentifierType', metadata: 'AttributeMetadata' },
  lookup: { type: 'Lookup', typeName: 'LookupType', metadata: 'LookupAttributeMetadata' },
  owner: { type: 'Owner', typeName: 'OwnerType', metadata: 'LookupAttributeMetadata' },
  picklist: { type: 'Picklist', typeName: 'PicklistType', metadata: 'PicklistAttributeMetadata' },
  state: { type: 'State', typeName: 'StateType', metadata: 'StateAttributeMetadata' },
  status: { type: 'Status', typeName: 'StatusType', metadata: 'StatusAttributeMetadata' },
};

function label(text: string): Definition {
  const localized = { Label: text, LanguageCode: 1033, IsManaged: false };
  return { LocalizedLabels: [localized], UserLocalizedLabel: localized };
}

function entityDefinition(e: EntityDef): Definition {
  return {
    '@odata.type': '#Microsoft.Dynamics.CRM.EntityMetadata',
    MetadataId: metadataId(e.logicalName),
    LogicalName: e.logicalName,
    SchemaName: e.schemaName,
    EntitySetName: e.entitySetName,
    LogicalCollectionName: e.entitySetName,
    CollectionSchemaName: `${e.schemaName}s`,
    PrimaryIdAttribute: e.primaryIdAttribute,
    PrimaryNameAttribute: e.primaryNameAttribute,
    ChangeTrackingEnabled: e.changeTrackingEnabled,
    // Every emulated table has row versions (ETags, If-Match), as custom tables in Dataverse do.
    IsOptimisticConcurrencyEnabled: true,
    IsCustomEntity: e.logicalName.includes('_'),
    DisplayName: label(e.schemaName),
    Keys: e.alternateKeys.map((k) => ({ LogicalName: k.logicalName, KeyAttributes: [...k.columns] })),
  };
}

function attributeDefinition(e: EntityDef, a: AttributeDef): Definition {
  const t = ATTRIBUTE_TYPES[a.type];
  const out: Definition = {
    '@odata.type': `#Microsoft.Dynamics.CRM.${t.metadata}`,
    MetadataId: metadataId(`${e.logicalName}.${a.logicalName}`),
    LogicalName: a.logicalName,
    SchemaName: a.schemaName,
    EntityLogicalName: e.logicalName,
    AttributeType: t.type,
    AttributeTypeName: { Value: t.typeName },
    IsPrimaryId: a.logicalName === e.primaryIdAttribute,
    IsPrimaryName: a.logicalName === e.primaryNameAttribute,
    IsValidForCreate: !a.readOnly,
    IsValidForUpdate: !a.readOnly,
    RequiredLevel: { Value: a.required ? 'ApplicationRequired' : 'None', CanBeChanged: true, ManagedPropertyLogicalName: 'canmodifyrequirementlevelsettings' },
    DisplayName: label(a.schemaName),
  };
  if (a.maxLength !== undefined && (a.type === 'string' || a.type === 'memo' || a.type === 'autonumber')) out.MaxLength = a.maxLength;
  if (a.autoNumberFormat) out.AutoNumberFormat = a.autoNumberFormat;
  if (a.minValue !== undefined) out.MinValue = a.minValue;
  if (a.maxValue !== undefined) out.MaxValue = a.maxValue;
  if (a.type === 'lookup' || a.type === 'owner') out.Targets = a.target ? [a.target] : [];
  return out;
}

/** `$filter` of the metadata API: `Prop eq 'v'` (strings, numbers, true/false) joined by `or` or `and`, no parentheses. */
/** Splits on a keyword (` or `, ` and `) outside quoted literals. */
function splitOutsideQuotes(text: string, keyword: 'or' | 'and'): string[] {
  const parts: string[] = [];
  const pattern = new RegExp(`^\\s+${keyword}\\s+`, 'i');
  let quoted = false;
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    if (text[i] === "'") quoted = !quoted;
    else if (!quoted && /\s/.test(text[i] as string)) {
      const m = pattern.exec(text.slice(i, i + keyword.length + 32));
      if (m) {
        parts.push(text.slice(start, i));
        i += m[0].length - 1;
        start = i + 1;
      }
    }
  }
  parts.push(text.slice(start));
  return parts;
}

function metadataFilter(text: string): (d: Definition) => boolean {
  if (text.length > 4000) throw DataverseErrors.queryOption('The metadata $filter is too long.');
  const clauses = splitOutsideQuotes(text, 'or').map((orPart) =>
    splitOutsideQuotes(orPart, 'and').map((term) => {
      const m = /^\s*(\w+)\s+(eq|ne)\s+('(?:[^']|'')*'|-?\d+|true|false)\s*$/i.exec(term);
      if (!m) throw DataverseErrors.notSupported(`The metadata filter '${term.trim()}' (only 'Property eq value' joined by 'and'/'or' is supported) in this emulator`);
      const raw = m[3] as string;
      const value = raw.startsWith("'") ? raw.slice(1, -1).replace(/''/g, "'") : raw === 'true' ? true : raw === 'false' ? false : Number(raw);
      const negate = (m[2] as string).toLowerCase() === 'ne';
      const prop = m[1] as string;
      return (d: Definition): boolean => {
        const actual = d[prop];
        const equal = typeof actual === 'string' && typeof value === 'string' ? actual.toLowerCase() === value.toLowerCase() : actual === value;
        return negate ? !equal : equal;
      };
    }),
  );
  return (d) => clauses.some((all) => all.every((test) => test(d)));
}

function shape(req: ApiRequest, d: Definition): Definition {
  const select = req.query.get('$select');
  if (!select) return d;
  const out: Definition = { '@odata.type': d['@odata.type'], MetadataId: d['MetadataId'] };
  for (const name of select.split(',').map((s) => s.trim())) if (name in d) out[name] = d[name];
  return out;
}

function list(req: ApiRequest, ctx: RequestContext, context: string, items: readonly Definition[]): ApiResponse {
  const filter = req.query.get('$filter');
  const chosen = filter ? items.filter(metadataFilter(filter)) : items;
  return jsonResponse(200, { '@odata.context': `${ctx.apiBase}$metadata#${context}`, value: chosen.map((d) => shape(req, d)) });
}

function find(items: readonly Definition[], key: ResourceKey, segment: string): Definition {
  const match =
    key.kind === 'id'
      ? items.find((d) => d['MetadataId'] === key.id)
      : key.values.size === 1 && key.values.has('LogicalName')
        ? items.find((d) => d['LogicalName'] === String(key.values.get('LogicalName')).toLowerCase())
        : undefined;
  if (!match) throw DataverseErrors.resourceNotFound(segment);
  return match;
}

const CAST = /^Microsoft\.Dynamics\.CRM\.(\w+AttributeMetadata)$/;

export function entityDefinitions(engine: Engine, req: ApiRequest, ctx: RequestContext, resource: ResourcePath): ApiResponse {
  if (req.method !== 'GET') throw DataverseErrors.notSupported(`${req.method} on table definitions (the emulator's metadata is read-only; its tables come from the solution)`);
  const entities = engine.schema.entities;
  const definitions = entities.map(entityDefinition);
  if (!resource.key) {
    if (resource.segments.length > 0) throw DataverseErrors.resourceNotFound(resource.segments[0]?.name ?? '');
    return list(req, ctx, 'EntityDefinitions', definitions);
  }
  const definition = find(definitions, resource.key, 'EntityDefinitions');
  const entity = entities[definitions.indexOf(definition)] as EntityDef;
  const [nav, cast, ...rest] = resource.segments;
  if (!nav) return jsonResponse(200, { '@odata.context': `${ctx.apiBase}$metadata#EntityDefinitions/$entity`, ...shape(req, definition) });
  if (nav.name !== 'Attributes' || rest.length > 0) throw DataverseErrors.resourceNotFound(nav.name);
  let attributes = [...entity.attributes.values()].map((a) => attributeDefinition(entity, a));
  let context = `EntityDefinitions('${entity.logicalName}')/Attributes`;
  if (cast) {
    const m = CAST.exec(cast.name);
    if (!m || cast.key) throw DataverseErrors.resourceNotFound(cast.name);
    attributes = attributes.filter((d) => d['@odata.type'] === `#Microsoft.Dynamics.CRM.${m[1] as string}`);
    context += `/Microsoft.Dynamics.CRM.${m[1] as string}`;
  }
  if (nav.key) {
    const attribute = find(attributes, nav.key, 'Attributes');
    return jsonResponse(200, { '@odata.context': `${ctx.apiBase}$metadata#${context}/$entity`, ...shape(req, attribute) });
  }
  return list(req, ctx, context, attributes);
}
