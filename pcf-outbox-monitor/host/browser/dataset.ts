// The bound view as a PCF DataSet, read from the Dataverse Web API with FetchXML (page/count paging, total count,
// sorting and the status filter the control sets). Each reload ends with onChange, like the platform's updateView.
import { OutboxMessage } from '@dataverse-outbox/contract';
import type { DataverseClient } from '@dataverse-outbox/web-api';
import { entitySetOf, hostError } from './webApi';

type DataSet = ComponentFramework.PropertyTypes.DataSet;
type EntityRecord = ComponentFramework.PropertyHelper.DataSetApi.EntityRecord;
type FilterExpression = ComponentFramework.PropertyHelper.DataSetApi.FilterExpression;

export interface ViewColumn {
  name: string;
  displayName: string;
  dataType: string;
}

export interface HostDatasetOptions {
  /** The page's Web API client (see createHostClient). */
  client: DataverseClient;
  entity: string;
  columns: readonly ViewColumn[];
  /** Default order of the view (column, descending). */
  defaultOrder: { column: string; descending: boolean };
  onChange: () => void;
  onOpen: (reference: ComponentFramework.EntityReference) => void;
}

const formatted = '@OData.Community.Display.V1.FormattedValue';
const dateTypes = new Set(['DateAndTime.DateAndTime', 'DateAndTime.DateOnly']);

function escapeXml(value: string): string {
  return value.replace(/[<>&"']/g, (ch) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&apos;' })[ch] ?? ch);
}

// PCF ConditionOperator values the host translates (the control uses Equal; In for completeness).
const conditionOperators: Readonly<Record<number, string>> = { 0: 'eq', 1: 'ne', 8: 'in' };

function filterXml(filter: FilterExpression | null): string {
  if (!filter || filter.conditions.length === 0) return '';
  const type = filter.filterOperator === 1 ? 'or' : 'and';
  const conditions = filter.conditions.map((cond) => {
    const operator = conditionOperators[cond.conditionOperator];
    if (!operator) throw new Error(`host dataset: condition operator ${cond.conditionOperator} is not supported`);
    const values: unknown[] = Array.isArray(cond.value) ? (cond.value) : [cond.value];
    const attribute = escapeXml(cond.attributeName);
    return operator === 'in'
      ? `<condition attribute="${attribute}" operator="in">${values.map((v) => `<value>${escapeXml(String(v))}</value>`).join('')}</condition>`
      : `<condition attribute="${attribute}" operator="${operator}" value="${escapeXml(String(values[0]))}"/>`;
  });
  return `<filter type="${type}">${conditions.join('')}</filter>`;
}

export function createHostDataset(options: HostDatasetOptions): DataSet {
  const idColumn = `${options.entity}id`;
  let page = 1;
  let filter: FilterExpression | null = null;
  let selected: string[] = [];
  let generation = 0;

  const dataset = {
    loading: true,
    error: false,
    errorMessage: '',
    columns: options.columns.map((col, order) => ({ ...col, alias: col.name, order, visualSizeFactor: 1 })),
    sorting: [] as ComponentFramework.PropertyHelper.DataSetApi.SortStatus[],
    records: {} as Record<string, EntityRecord>,
    sortedRecordIds: [] as string[],
    linking: { getLinkedEntities: () => [], addLinkedEntity: () => undefined },
    paging: {
      pageSize: 50,
      totalResultCount: -1,
      firstPageNumber: 1,
      lastPageNumber: 1,
      hasNextPage: false,
      hasPreviousPage: false,
      setPageSize: (size: number) => {
        dataset.paging.pageSize = size;
        page = 1;
        void load();
      },
      loadExactPage: (n: number) => {
        page = Math.max(1, n);
        void load();
      },
      loadNextPage: () => {
        page += 1;
        void load();
      },
      loadPreviousPage: () => {
        page = Math.max(1, page - 1);
        void load();
      },
      reset: () => {
        page = 1;
      },
    },
    filtering: {
      getFilter: () => filter as FilterExpression,
      setFilter: (expression: FilterExpression) => {
        filter = expression;
      },
      clearFilter: () => {
        filter = null;
      },
    },
    refresh: () => void load(),
    openDatasetItem: (reference: ComponentFramework.EntityReference) => options.onOpen(reference),
    getSelectedRecordIds: () => selected,
    setSelectedRecordIds: (ids: string[]) => {
      selected = ids;
    },
    clearSelectedRecordIds: () => {
      selected = [];
    },
    getTargetEntityType: () => options.entity,
    getTitle: () => 'All Outbox Messages',
    getViewId: () => '00000000-0000-0000-0000-00000000b0b0',
  };

  function fetchXml(): string {
    const sort = dataset.sorting[0];
    const order = sort ? { column: sort.name, descending: sort.sortDirection === 1 } : options.defaultOrder;
    const attributes = [idColumn, ...options.columns.map((c) => c.name)].map((name) => `<attribute name="${escapeXml(name)}"/>`).join('');
    return (
      `<fetch page="${page}" count="${dataset.paging.pageSize}" returntotalrecordcount="true">` +
      `<entity name="${escapeXml(options.entity)}">${attributes}` +
      `<order attribute="${escapeXml(order.column)}" descending="${order.descending}"/>` +
      // a unique tie-breaker keeps pages stable when many rows share a value
      `<order attribute="${escapeXml(idColumn)}" descending="false"/>` +
      `${filterXml(filter)}</entity></fetch>`
    );
  }

  function toRecord(row: Record<string, unknown>): EntityRecord {
    const id = String(row[idColumn]);
    return {
      getRecordId: () => id,
      getValue: (column: string) => {
        const value = row[column];
        const type = options.columns.find((c) => c.name === column)?.dataType;
        if (type && dateTypes.has(type) && typeof value === 'string') return new Date(value);
        return value as string;
      },
      getFormattedValue: (column: string) => {
        const label = row[`${column}${formatted}`];
        if (typeof label === 'string') return label;
        const value = row[column];
        if (typeof value === 'string') return value;
        if (typeof value === 'number' || typeof value === 'boolean') return String(value);
        return value === null || value === undefined ? '' : JSON.stringify(value);
      },
      getNamedReference: () => ({ id: { guid: id }, etn: options.entity, name: typeof row[OutboxMessage.primaryNameAttribute] === 'string' ? (row[OutboxMessage.primaryNameAttribute] as string) : '' }),
    };
  }

  async function load(): Promise<void> {
    const mine = ++generation;
    dataset.loading = true;
    options.onChange();
    try {
      const response = await options.client
        .request('GET', `${entitySetOf(options.entity)}?fetchXml=${encodeURIComponent(fetchXml())}`, { headers: { Prefer: 'odata.include-annotations="*"' }, what: `load ${options.entity}` })
        .catch((error: unknown) => {
          throw hostError(error);
        });
      const body = (response.body ?? {}) as Record<string, unknown> & { value?: Record<string, unknown>[] };
      if (mine !== generation) return; // a newer load started meanwhile
      const rows = body.value ?? [];
      dataset.records = Object.fromEntries(rows.map((row) => [String(row[idColumn]), toRecord(row)]));
      dataset.sortedRecordIds = rows.map((row) => String(row[idColumn]));
      const total = body['@Microsoft.Dynamics.CRM.totalrecordcount'];
      dataset.paging.totalResultCount = typeof total === 'number' ? total : -1;
      dataset.paging.hasNextPage = body['@Microsoft.Dynamics.CRM.morerecords'] === true;
      dataset.paging.hasPreviousPage = page > 1;
      dataset.error = false;
      dataset.errorMessage = '';
    } catch (error) {
      if (mine !== generation) return;
      dataset.error = true;
      dataset.errorMessage = error instanceof Error ? error.message : String(error);
    }
    dataset.loading = false;
    options.onChange();
  }

  return dataset;
}
