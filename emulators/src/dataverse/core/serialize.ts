// Row -> Web API JSON: `@odata.etag` first, columns by logical name, lookups as `_x_value`, and formatted values and
// lookup annotations when the caller asks for them with `Prefer: odata.include-annotations`.
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
}

export function annotationOptions(prefer: ReadonlyMap<string, string>): AnnotationOptions {
  const raw = prefer.get('odata.include-annotations');
  if (raw === undefined) return { formattedValues: false, lookupLogicalNames: false };
  const all = raw === '*';
  return {
    formattedValues: all || raw.includes('OData.Community.Display.V1.FormattedValue'),
    lookupLogicalNames: all || raw.includes('Microsoft.Dynamics.CRM.lookuplogicalname') || raw.includes('Microsoft.Dynamics.CRM.*'),
  };
}

export function propertyName(a: AttributeDef): string {
  return isLookup(a) ? lookupValueProperty(a.logicalName) : a.logicalName;
}

export function rowToJson(
  entity: EntityDef,
  row: StoredRow,
  select: readonly AttributeDef[] | undefined,
  annotations: AnnotationOptions = { formattedValues: false, lookupLogicalNames: false },
): Record<string, unknown> {
  const out: Record<string, unknown> = { '@odata.etag': etagOf(row) };
  const attrs = select ?? [...entity.attributes.values()];
  const pk = entity.attributes.get(entity.primaryIdAttribute) as AttributeDef;
  const list = attrs.includes(pk) ? attrs : [...attrs, pk];
  for (const a of list) {
    const name = propertyName(a);
    const value = fromStorage(a, row[a.logicalName] ?? null);
    if (annotations.formattedValues && value !== null) {
      const label = a.optionLabels?.get(value as number);
      if (label !== undefined) out[`${name}@OData.Community.Display.V1.FormattedValue`] = label;
      else if (a.type === 'boolean') out[`${name}@OData.Community.Display.V1.FormattedValue`] = value ? 'Yes' : 'No';
    }
    if (annotations.lookupLogicalNames && isLookup(a) && value !== null && a.target) {
      out[`${name}@Microsoft.Dynamics.CRM.lookuplogicalname`] = a.target;
    }
    out[name] = value;
  }
  return out;
}
