// All tables the emulator serves, indexed by logical name and entity set name.
import { OutboxMessage } from '@dataverse-outbox/contract';
import { type ColumnModel, type SolutionModel, type TableModel } from '@dataverse-outbox/solution';
import { businessTables } from './businessTables';
import { col, defineEntity, type AttributeDef, type EntityDef, type ManyToManyDef } from './model';
import { SYSTEM_USER_PROFILES, SYSTEM_USER_ROLES, systemTables } from './systemTables';

export class Schema {
  private readonly byLogical = new Map<string, EntityDef>();
  private readonly bySet = new Map<string, EntityDef>();
  readonly manyToMany: readonly ManyToManyDef[] = [SYSTEM_USER_ROLES, SYSTEM_USER_PROFILES];

  constructor(readonly solution: SolutionModel) {
    for (const e of [...systemTables(), ...businessTables(), ...solution.tables.map((t) => fromTableModel(t, solution))]) {
      this.byLogical.set(e.logicalName, e);
      this.bySet.set(e.entitySetName, e);
    }
  }

  get entities(): readonly EntityDef[] {
    return [...this.byLogical.values()];
  }
  entityBySet(entitySetName: string): EntityDef | undefined {
    return this.bySet.get(entitySetName);
  }
  entity(logicalName: string): EntityDef {
    const e = this.byLogical.get(logicalName);
    if (!e) throw new Error(`Unknown table ${logicalName}`);
    return e;
  }
  hasEntity(logicalName: string): boolean {
    return this.byLogical.has(logicalName);
  }
  /** Collection-valued N:N navigation property of `entity`, if `name` is one. */
  manyToManyFor(entity: string, name: string): { rel: ManyToManyDef; self: 'entity1' | 'entity2' } | undefined {
    for (const rel of this.manyToMany) {
      if (rel.name !== name) continue;
      if (rel.entity1 === entity) return { rel, self: 'entity1' };
      if (rel.entity2 === entity) return { rel, self: 'entity2' };
    }
    return undefined;
  }
}

/** Columns the platform maintains: a value sent by a caller is ignored. */
const READ_ONLY_SYSTEM_COLUMNS = new Set(['createdon', 'modifiedon', 'versionnumber', 'createdby', 'modifiedby', 'createdonbehalfby', 'modifiedonbehalfby', 'organizationid']);

function fromColumn(c: ColumnModel, solution: SolutionModel): AttributeDef {
  const optionSet = c.optionSetName ? solution.optionSets.find((o) => o.name === c.optionSetName) : undefined;
  const labels = optionSet ? Object.fromEntries(optionSet.options.map((o) => [o.value, o.label])) : undefined;
  const isSystemReadOnly = READ_ONLY_SYSTEM_COLUMNS.has(c.logicalName);
  // State and status columns default to Active (0) and its default status (the first option, 1).
  const defaultValue = c.defaultValue ?? (c.type === 'state' ? 0 : c.type === 'status' ? (c.options?.[0] ?? 1) : undefined);
  return col(c.logicalName, c.type, {
    schemaName: c.schemaName,
    maxLength: c.maxLength,
    minValue: c.minValue,
    maxValue: c.maxValue,
    // System columns are never required of callers (model.ts); picklists with a default are filled in on create.
    required: c.required && !c.isSystem,
    options: c.options ?? (optionSet ? optionSet.options.map((o) => o.value) : undefined),
    optionLabels: labels,
    defaultValue,
    autoNumberFormat: c.autoNumberFormat,
    targets: c.targets,
    // Custom lookups navigate by their schema name (Dataverse convention for single-valued navigation properties).
    navigationProperty: c.type === 'lookup' || c.type === 'owner' ? c.schemaName : undefined,
    readOnly: isSystemReadOnly,
    isSecured: c.isSecured,
  });
}

function fromTableModel(t: TableModel, solution: SolutionModel): EntityDef {
  const attributes = t.columns.map((c) => fromColumn(c, solution));
  const picklists = attributes.filter((a) => a.type === 'picklist').map((a) => a.logicalName);
  const autonumber = attributes.find((a) => a.type === 'autonumber')?.logicalName;
  // Indexes for the queries run at scale: "pending rows in sequence order", per-key ordering, and age-based cleanup.
  const indexes: string[][] = picklists.map((p) => (autonumber ? [p, autonumber] : [p]));
  if (t.logicalName === OutboxMessage.logicalName) {
    const c = OutboxMessage.columns;
    indexes.push([c.sessionKey, c.sequence], [c.status, c.nextAttemptOn], [c.publishedOn]);
  }
  if (autonumber) indexes.push([autonumber]);
  indexes.push(['modifiedon']);
  const hasState = attributes.some((a) => a.logicalName === 'statecode');
  return defineEntity({
    logicalName: t.logicalName,
    schemaName: t.schemaName,
    entitySetName: t.entitySetName,
    primaryIdAttribute: t.primaryIdAttribute,
    primaryNameAttribute: t.primaryNameAttribute,
    changeTrackingEnabled: t.changeTrackingEnabled,
    attributes,
    alternateKeys: t.alternateKeys.map((k) => ({ logicalName: k.logicalName, columns: [...k.columns] })),
    indexes,
    withState: !hasState || undefined,
  });
}
