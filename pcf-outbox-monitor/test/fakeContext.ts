// A fake ComponentFramework.Context of our own: a dataset over an in-memory outbox table (sorting, filtering, paging,
// selection, open record) and a webAPI over the same table that answers the monitor's queries. Every call is recorded.
import { isScheduled, OutboxMessage, OutboxStatus, Settings } from '@dataverse-outbox/contract';
import type { IInputs } from '../OutboxMonitor/inputs';
import { gridColumns } from '../OutboxMonitor/core/rows';
import { statusLabels, statusNameOf } from '../OutboxMonitor/core/status';

export type Row = Record<string, unknown> & { obx_outboxmessageid: string };

const c = OutboxMessage.columns;

export interface FakeOptions {
  rows: Row[];
  /** Columns in the bound view (default: every grid column). */
  columns?: readonly string[];
  pageSize?: number | null;
  thresholdsJson?: string | null;
  /** Make a webAPI query fail: return an error for queries whose options contain the key. */
  failQueries?: Record<string, { message: string; errorCode?: number }>;
  /** Make a row's update fail: context.webAPI rejects with the PCF error; the page's Web API answers 403 with it. */
  failUpdates?: Record<string, { message: string; errorCode?: number }>;
  /** Runs inside the conditional write, before its ETag is checked: a test plays the publisher changing the row here. */
  beforeUpdate?: (row: Row, touch: (changes: Partial<Row>) => void) => void;
  /** The `@odata.etag` the fake Web API returns for a row (default: its version); a test returns hostile values. */
  etagOf?: (row: Row, version: number) => unknown;
  datasetError?: string;
  now?: Date;
}

export interface Call {
  method: string;
  args: unknown[];
}

export interface FakeContext {
  context: ComponentFramework.Context<IInputs>;
  table: Row[];
  calls: Call[];
  /** The page's fetch: the Web API's row read (GET) and conditional update (PATCH) over the same table, with ETags. */
  fetch: typeof fetch;
  /** Changes a row the way another writer would (its version moves on, so an old ETag no longer matches). */
  touch: (row: Row, changes: Partial<Row>) => void;
  /** Called after the dataset reloads (refresh, page, sort, filter): the harness re-renders with updatedProperties ["dataset"]. */
  onDatasetChanged: (listener: () => void) => void;
  /** Resolves when no dataset reload is pending. */
  settled: () => Promise<void>;
  getValueCalls: () => number;
}

const text = (v: unknown): string => (typeof v === 'string' ? v : JSON.stringify(v));

function compare(a: unknown, b: unknown): number {
  if (a === b) return 0;
  if (a === undefined || a === null) return -1;
  if (b === undefined || b === null) return 1;
  return text(a) < text(b) ? -1 : 1;
}

export function createFakeContext(options: FakeOptions): FakeContext {
  const table = options.rows;
  const calls: Call[] = [];
  const columns = options.columns ?? gridColumns.map((col) => col.name);
  let listener: () => void = () => undefined;
  let pending: Promise<void> = Promise.resolve();
  let getValueCount = 0;
  let page = 1;
  let selected: string[] = [];
  let filter: ComponentFramework.PropertyHelper.DataSetApi.FilterExpression | null = null;
  const record = (method: string, ...args: unknown[]): void => {
    calls.push({ method, args });
  };

  const matches = (row: Row): boolean =>
    !filter ||
    filter.conditions.some((cond) => String(row[cond.attributeName]) === String(cond.value));

  const dataset = {
    loading: false,
    error: options.datasetError !== undefined,
    errorMessage: options.datasetError ?? '',
    columns: columns.map((name, order) => ({ name, displayName: name, dataType: 'SingleLine.Text', alias: name, order, visualSizeFactor: 1 })),
    sorting: [] as ComponentFramework.PropertyHelper.DataSetApi.SortStatus[],
    records: {} as Record<string, ComponentFramework.PropertyHelper.DataSetApi.EntityRecord>,
    sortedRecordIds: [] as string[],
    paging: {
      pageSize: 25,
      totalResultCount: 0,
      firstPageNumber: 1,
      lastPageNumber: 1,
      hasNextPage: false,
      hasPreviousPage: false,
      setPageSize: (size: number) => {
        record('paging.setPageSize', size);
        dataset.paging.pageSize = size;
        load();
      },
      loadExactPage: (n: number) => {
        record('paging.loadExactPage', n);
        page = n;
        reload();
      },
      loadNextPage: () => {
        record('paging.loadNextPage');
        page += 1;
        reload();
      },
      loadPreviousPage: () => {
        record('paging.loadPreviousPage');
        page -= 1;
        reload();
      },
      reset: () => {
        record('paging.reset');
        page = 1;
      },
    },
    filtering: {
      getFilter: () => filter as ComponentFramework.PropertyHelper.DataSetApi.FilterExpression,
      setFilter: (expression: ComponentFramework.PropertyHelper.DataSetApi.FilterExpression) => {
        record('filtering.setFilter', expression);
        filter = expression;
      },
      clearFilter: () => {
        record('filtering.clearFilter');
        filter = null;
      },
    },
    linking: {},
    refresh: () => {
      record('refresh');
      reload();
    },
    openDatasetItem: (ref: ComponentFramework.EntityReference) => record('openDatasetItem', ref),
    getSelectedRecordIds: () => selected,
    setSelectedRecordIds: (ids: string[]) => {
      record('setSelectedRecordIds', ids);
      selected = ids;
    },
    clearSelectedRecordIds: () => {
      selected = [];
    },
    getTargetEntityType: () => OutboxMessage.logicalName,
    getTitle: () => 'Active Outbox Messages',
    getViewId: () => '00000000-0000-0000-0000-000000000001',
  };

  function load(): void {
    const sort = dataset.sorting[0];
    const visible = table.filter(matches);
    if (sort) {
      visible.sort((a, b) => compare(a[sort.name], b[sort.name]) * (sort.sortDirection === 1 ? -1 : 1));
    }
    const size = dataset.paging.pageSize;
    const slice = visible.slice((page - 1) * size, page * size);
    dataset.records = Object.fromEntries(
      slice.map((row) => [
        row.obx_outboxmessageid,
        {
          getRecordId: () => row.obx_outboxmessageid,
          getValue: (column: string) => {
            getValueCount += 1;
            return row[column] as string;
          },
          getFormattedValue: (column: string) => {
            const value = row[column];
            if (column === c.status && typeof value === 'number') return statusLabels[statusNameOf(value) ?? 'Pending'] ?? '';
            return value === null || value === undefined ? '' : text(value);
          },
          getNamedReference: () => ({ id: { guid: row.obx_outboxmessageid }, etn: OutboxMessage.logicalName, name: text(row[c.name]) }),
        },
      ]),
    );
    dataset.sortedRecordIds = slice.map((row) => row.obx_outboxmessageid);
    dataset.paging.totalResultCount = visible.length;
    dataset.paging.hasPreviousPage = page > 1;
    dataset.paging.hasNextPage = page * size < visible.length;
  }

  function reload(): void {
    dataset.loading = true;
    pending = new Promise((resolve) => {
      setTimeout(() => {
        load();
        dataset.loading = false;
        listener();
        resolve();
      }, 0);
    });
  }

  const fail = (key: string | undefined, map: FakeOptions['failQueries']): void => {
    if (!key || !map) return;
    for (const [needle, error] of Object.entries(map)) if (key.includes(needle)) throw Object.assign(new Error(error.message), error);
  };

  // Answers arrive on a later task, like network responses (never in the same microtask queue as the call).
  const later = <T,>(work: () => T): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      setTimeout(() => {
        try {
          resolve(work());
        } catch (error) {
          reject(error instanceof Error ? error : new Error(String(error)));
        }
      }, 0);
    });

  const webAPI = {
    retrieveMultipleRecords: (entityType: string, query?: string, maxPageSize?: number) => {
      record('webAPI.retrieveMultipleRecords', entityType, query, maxPageSize);
      return later(() => {
        fail(`${entityType}${query ?? ''}`, options.failQueries);
        return { entities: answer(entityType, query ?? ''), nextLink: undefined as string | undefined };
      });
    },
    retrieveRecord: (entityType: string, id: string, query?: string) => {
      record('webAPI.retrieveRecord', entityType, id, query);
      return later(() => {
        const row = table.find((r) => r.obx_outboxmessageid === id);
        if (!row) throw Object.assign(new Error(`Entity with id ${id} does not exist`), { errorCode: -2147220969 });
        return { ...row };
      });
    },
    updateRecord: (entityType: string, id: string, data: Record<string, unknown>) => {
      record('webAPI.updateRecord', entityType, id, data);
      return later(() => {
        fail(id, options.failUpdates);
        const row = table.find((r) => r.obx_outboxmessageid === id);
        if (!row) throw new Error('not found');
        Object.assign(row, data);
        return { id, entityType };
      });
    },
  };

  // Row versions: every write moves a row's version on, and the ETag is derived from it (like Dataverse's versionnumber).
  const versions = new WeakMap<Row, number>();
  const versionOf = (row: Row): number => versions.get(row) ?? 1;
  const touch = (row: Row, changes: Partial<Row>): void => {
    Object.assign(row, changes);
    versions.set(row, versionOf(row) + 1);
  };
  const etagOf = (row: Row): unknown => (options.etagOf ? options.etagOf(row, versionOf(row)) : `W/"${versionOf(row)}"`);
  // What a browser's fetch answers: a real Response (the Web API client reads its text and headers).
  const reply = (status: number, body?: unknown): Response =>
    body === undefined ? new Response(null, { status }) : new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json; odata.metadata=minimal' } });
  const rowPath = new RegExp(`/api/data/v9\\.2/${OutboxMessage.entitySetName}\\(([^)]*)\\)`);

  const pageFetch = ((input: RequestInfo | URL, init?: RequestInit) => {
    const url = input instanceof URL ? input.href : typeof input === 'string' ? input : input.url;
    const method = init?.method ?? 'GET';
    const headers = (init?.headers ?? {}) as Record<string, string>;
    const id = rowPath.exec(url)?.[1];
    record(`fetch.${method}`, id, headers['If-Match'], typeof init?.body === 'string' ? JSON.parse(init.body) : undefined);
    return later(() => {
      const row = table.find((r) => r.obx_outboxmessageid === id);
      if (id === undefined) return reply(400, { error: { message: `fake Web API: unexpected URL ${url}` } });
      if (method === 'GET') return row ? reply(200, { '@odata.etag': etagOf(row), ...row }) : reply(404, { error: { message: 'Does Not Exist' } });
      if (method !== 'PATCH') return reply(405);
      const refused = Object.entries(options.failUpdates ?? {}).find(([needle]) => id.includes(needle))?.[1];
      // Dataverse's answer to a write the user may not make: 403 with its hexadecimal code and message.
      if (refused) return reply(403, { error: { code: `0x${((refused.errorCode ?? -2147220960) >>> 0).toString(16)}`, message: refused.message } });
      if (!row) return reply(404, { error: { message: 'Does Not Exist' } });
      options.beforeUpdate?.(row, (changes) => touch(row, changes));
      if (headers['If-Match'] !== `W/"${versionOf(row)}"`) return reply(412, { error: { code: '0x80060882', message: 'The version of the existing record doesn\'t match the RowVersion property provided.' } });
      touch(row, JSON.parse(typeof init?.body === 'string' ? init.body : '{}') as Partial<Row>);
      return reply(204);
    });
  }) as typeof fetch;

  function answer(entityType: string, query: string): Record<string, unknown>[] {
    if (entityType === 'environmentvariabledefinition') {
      if (options.thresholdsJson === null) return [];
      return [
        {
          schemaname: Settings.HealthThresholds.schemaName,
          defaultvalue: Settings.HealthThresholds.defaultValue,
          environmentvariabledefinition_environmentvariablevalue: options.thresholdsJson === undefined ? [] : [{ value: options.thresholdsJson }],
        },
      ];
    }
    // A bounded status count: the ids of one status's rows, at most $top of them (rows stand in obx_sequence order).
    const count = new RegExp(`^\\?\\$select=${OutboxMessage.primaryIdAttribute}&\\$filter=${c.status} eq (\\d+)&\\$orderby=${c.sequence} asc&\\$top=(\\d+)$`).exec(query);
    if (count) {
      return table
        .filter((r) => r[c.status] === Number(count[1]))
        .slice(0, Number(count[2]))
        .map((r) => ({ [OutboxMessage.primaryIdAttribute]: r.obx_outboxmessageid }));
    }
    // The oldest Pending row that is not a scheduled event before its time (contract notScheduledFilter).
    if (query.includes(`${c.status} eq ${OutboxStatus.Pending} and (${c.nextAttemptOn} eq null or `) && query.endsWith(`&$orderby=${c.sequence} asc&$top=1`)) {
      const now = new Date();
      return table
        .filter((r) => r[c.status] === OutboxStatus.Pending)
        .filter((r) => !isScheduled({ status: r[c.status] as number, attempts: r[c.attempts] as number | null, nextAttemptOn: r[c.nextAttemptOn] as string | null, lastError: r[c.lastError] as string | null }, now))
        .sort((a, b) => compare(a[c.createdOn], b[c.createdOn]))
        .slice(0, 1)
        .map((r) => ({ [c.createdOn]: r[c.createdOn] }));
    }
    if (query.includes(`$orderby=${c.publishedOn} desc&$top=1`)) {
      return table
        .filter((r) => r[c.publishedOn])
        .sort((a, b) => compare(b[c.publishedOn], a[c.publishedOn]))
        .slice(0, 1)
        .map((r) => ({ [c.publishedOn]: r[c.publishedOn] }));
    }
    if (query.includes(`${c.publishedOn} ge `)) {
      const since = query.split(`${c.publishedOn} ge `)[1] ?? '';
      return table.filter((r) => typeof r[c.publishedOn] === 'string' && (r[c.publishedOn] as string) >= since).map((r) => ({ [c.publishedOn]: r[c.publishedOn] }));
    }
    if (query.includes(`${c.modifiedOn} ge `)) {
      const since = query.split(`${c.modifiedOn} ge `)[1] ?? '';
      return table
        .filter((r) => r[c.status] === OutboxStatus.Failed && typeof r[c.modifiedOn] === 'string' && (r[c.modifiedOn] as string) >= since)
        .map((r) => ({ [c.modifiedOn]: r[c.modifiedOn] }));
    }
    throw new Error(`fake webAPI: unexpected query ${entityType}${query}`);
  }

  const context = {
    parameters: {
      records: dataset,
      pageSize: { raw: options.pageSize === undefined ? null : options.pageSize, formatted: '', type: 'Whole.None', attributes: undefined, error: false, errorMessage: '' },
    },
    updatedProperties: ['dataset'] as string[],
    mode: {
      allocatedWidth: 1200,
      allocatedHeight: 800,
      isControlDisabled: false,
      isVisible: true,
      label: 'Outbox',
      trackContainerResize: (track: boolean) => record('mode.trackContainerResize', track),
      setControlState: () => true,
      setFullScreen: () => undefined,
    },
    webAPI,
  };
  load();

  return {
    context: context as unknown as ComponentFramework.Context<IInputs>,
    table,
    calls,
    fetch: pageFetch,
    touch,
    onDatasetChanged: (l) => {
      listener = l;
    },
    settled: () => pending,
    getValueCalls: () => getValueCount,
  };
}

let seq = 0;
/** A well-formed outbox row; override any column. */
export function outboxRow(overrides: Partial<Row> & { obx_name?: string } = {}, now = new Date()): Row {
  seq += 1;
  const id = `00000000-0000-4000-8000-${String(seq).padStart(12, '0')}`;
  return {
    obx_outboxmessageid: id,
    [c.name]: `OrderWon order:${seq}`,
    [c.messageId]: id,
    [c.status]: OutboxStatus.Pending,
    [c.target]: 'orders',
    [c.eventType]: 'OrderWon',
    [c.sessionKey]: `order-${seq}`,
    [c.attempts]: 0,
    [c.createdOn]: new Date(now.getTime() - 60_000).toISOString(),
    [c.modifiedOn]: new Date(now.getTime() - 30_000).toISOString(),
    [c.lastError]: null,
    [c.payload]: JSON.stringify({ orderId: seq }),
    [c.contentType]: 'application/json',
    [c.replayCount]: 0,
    [c.publishedOn]: null,
    ...overrides,
  };
}
