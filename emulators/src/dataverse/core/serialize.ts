// Row -> Web API JSON: `@odata.etag` first, columns by logical name, lookups as `_x_value`, and formatted values and
// lookup annotations when the caller asks for them with `Prefer: odata.include-annotations` (Microsoft Learn: "Formatted
// values" and "Lookup property data": choices, booleans, numbers, money, dates and lookups get a FormattedValue; lookups
// also get associatednavigationproperty and lookuplogicalname).
import type { Engine } from './engine';
import type { RequestContext } from './protocol';
import { fromStorage, type StoredRow } from './values';
import { isLookup, lookupValueProperty, type AttributeDef, type EntityDef } from '../metadata/model';

export function etagOf(row: StoredRow): string {
  return `W/"${String(row['versionnumber'])}"`;
}

/** Parses `W/"123"` (or `"123"`) into the version number; undefined for anything else. */
export function versionFromEtag(etag: string): number | undefined {
  const m = /^(?:W\/)?"(\d+)"$/.exec(etag.trim());
  return m ? Number(m[1]) : undefined;
}

export interface AnnotationOptions {
  formattedValues: boolean;
  lookupLogicalNames: boolean;
  associatedNavigationProperties: boolean;
  /** The primary name of a referenced row (a lookup's formatted value). */
  lookupName?: (target: string, id: string) => string | undefined;
  /** Secured columns read as null (the caller is in no column security profile). */
  hideSecured?: boolean;
}

export const NO_ANNOTATIONS: AnnotationOptions = { formattedValues: false, lookupLogicalNames: false, associatedNavigationProperties: false };

/** How rows are rendered for this caller: the annotations `Prefer: odata.include-annotations` asks for (with an engine,
 *  lookups can be named), and whether column security hides the secured columns. */
export function annotationOptions(prefer: ReadonlyMap<string, string>, engine?: Engine, ctx?: Pick<RequestContext, 'securedColumnsHidden'>): AnnotationOptions {
  const options = includedAnnotations(prefer, engine);
  return ctx?.securedColumnsHidden ? { ...options, hideSecured: true } : options;
}

function includedAnnotations(prefer: ReadonlyMap<string, string>, engine?: Engine): AnnotationOptions {
  const raw = prefer.get('odata.include-annotations');
  if (raw === undefined) return NO_ANNOTATIONS;
  const all = raw === '*';
  const crmAll = all || raw.includes('Microsoft.Dynamics.CRM.*');
  const options: AnnotationOptions = {
    formattedValues: all || raw.includes('OData.Community.Display.V1.FormattedValue'),
    lookupLogicalNames: crmAll || raw.includes('Microsoft.Dynamics.CRM.lookuplogicalname'),
    associatedNavigationProperties: crmAll || raw.includes('Microsoft.Dynamics.CRM.associatednavigationproperty'),
  };
  if (engine && options.formattedValues) {
    // One read per referenced row per request: a page of rows usually names the same few users and parents.
    const names = new Map<string, string | undefined>();
    options.lookupName = (target, id) => {
      const key = `${target}:${id}`;
      if (!names.has(key)) names.set(key, primaryName(engine, target, id));
      return names.get(key);
    };
  }
  return options;
}

function primaryName(engine: Engine, target: string, id: string): string | undefined {
  if (!engine.schema.hasEntity(target)) return undefined;
  const entity = engine.schema.entity(target);
  const row = engine.store.get(entity, id);
  const name = row?.[entity.primaryNameAttribute];
  return typeof name === 'string' ? name : undefined;
}

// Formatted as for a user with the en-US locale in UTC (the emulator has no user settings): "12/7/2026 3:33 PM",
// "$1,234.50", "1,234".
const DATE_TIME = new Intl.DateTimeFormat('en-US', { timeZone: 'UTC', year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric', minute: '2-digit' });
const MONEY = new Intl.NumberFormat('en-US', { style: 'currency', currency: 'USD' });
const INTEGER = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });
const DECIMAL = new Intl.NumberFormat('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 10 });

/** The FormattedValue of a column's value, when Dataverse sends one for its type. */
function formattedValue(a: AttributeDef, value: unknown, options: AnnotationOptions): string | undefined {
  const label = a.optionLabels?.get(value as number);
  if (label !== undefined) return label;
  switch (a.type) {
    case 'boolean':
      return value ? 'Yes' : 'No';
    case 'datetime':
      return DATE_TIME.format(new Date(String(value))).replace(',', '');
    case 'money':
      return MONEY.format(Number(value));
    case 'integer':
      return INTEGER.format(Number(value));
    case 'decimal':
      return DECIMAL.format(Number(value));
    case 'lookup':
    case 'owner':
      return a.target ? options.lookupName?.(a.target, String(value)) : undefined;
    default:
      return undefined;
  }
}

export function propertyName(a: AttributeDef): string {
  return isLookup(a) ? lookupValueProperty(a.logicalName) : a.logicalName;
}

export function rowToJson(entity: EntityDef, row: StoredRow, select: readonly AttributeDef[] | undefined, annotations: AnnotationOptions = NO_ANNOTATIONS): Record<string, unknown> {
  const out: Record<string, unknown> = { '@odata.etag': etagOf(row) };
  const attrs = select ?? [...entity.attributes.values()];
  const pk = entity.attributes.get(entity.primaryIdAttribute) as AttributeDef;
  const list = attrs.includes(pk) ? attrs : [...attrs, pk];
  for (const a of list) {
    const name = propertyName(a);
    const value = annotations.hideSecured && a.secured ? null : fromStorage(a, row[a.logicalName] ?? null);
    if (annotations.formattedValues && value !== null) {
      const formatted = formattedValue(a, value, annotations);
      if (formatted !== undefined) out[`${name}@OData.Community.Display.V1.FormattedValue`] = formatted;
    }
    if (isLookup(a) && value !== null && a.target) {
      if (annotations.associatedNavigationProperties && a.navigationProperty) out[`${name}@Microsoft.Dynamics.CRM.associatednavigationproperty`] = a.navigationProperty;
      if (annotations.lookupLogicalNames) out[`${name}@Microsoft.Dynamics.CRM.lookuplogicalname`] = a.target;
    }
    out[name] = value;
  }
  return out;
}
