// The PCF adapter: turns the context into plain typed props and routes callbacks back to the dataset API.
// Dataset operations (sort, paging, filter, selection, open record) live here; components never see the context.
import { OutboxMessage } from '@dataverse-outbox/contract';
import * as React from 'react';
import { OutboxMonitorApp, type OutboxMonitorProps } from './components/OutboxMonitorApp';
import type { DatasetFeatures, HostTheme, MonitorServices, PageTarget } from './components/types';
import { clampPageSize } from './core/pageSize';
import { describeMissingColumns, toOutboxRow, type OutboxRow } from './core/rows';
import { healthFromRows } from './core/rowsHealth';
import { runAction } from './core/runAction';
import { loadDetails, loadHealth } from './core/services';
import type { OutboxStatusValue } from './core/status';
import * as datasetAccess from './datasetAccess';
import { webApiSupportOf } from './hostSupport';
import type { IInputs, IOutputs } from './inputs';
import { createWebApiRows, webApiBaseOf } from './webApiRows';

type DataSet = ComponentFramework.PropertyTypes.DataSet;

const statusColumn = OutboxMessage.columns.status;

/** ConditionOperator 0 = Equal; FilterOperator 1 = Or (PCF enums). */
const conditionEqual = 0;
const filterOr = 1;

function hostThemeOf(context: ComponentFramework.Context<IInputs>): HostTheme | undefined {
  const design = context.fluentDesignLanguage;
  // The token theme is typed loosely by the PCF typings: read each token defensively, and use none unless all are there.
  const tokens: unknown = design?.tokenTheme;
  if (!design || !tokens || typeof tokens !== 'object') return undefined;
  const token = (name: string): string | undefined => {
    const value = (tokens as Record<string, unknown>)[name];
    return typeof value === 'string' && value !== '' ? value : undefined;
  };
  const theme = {
    brand: token('colorBrandBackground'),
    brandHover: token('colorBrandBackgroundHover'),
    brandPressed: token('colorBrandBackgroundPressed'),
    foreground: token('colorNeutralForeground1'),
    foregroundSecondary: token('colorNeutralForeground2'),
    foregroundDisabled: token('colorNeutralForegroundDisabled'),
    background: token('colorNeutralBackground1'),
    backgroundAlt: token('colorNeutralBackground2'),
    stroke: token('colorNeutralStroke1'),
  };
  const complete = Object.values(theme).every((v) => v !== undefined);
  return complete ? { ...(theme as Omit<HostTheme, 'isDark'>), isDark: design.isDarkTheme === true } : undefined;
}

export class OutboxMonitor implements ComponentFramework.ReactControl<IInputs, IOutputs> {
  private context!: ComponentFramework.Context<IInputs>;
  private services!: MonitorServices;
  private rows: readonly OutboxRow[] = [];
  private columns: ReadonlySet<string> = new Set();
  private snapshot: datasetAccess.DatasetSnapshot | undefined = undefined;
  /** Why the host has no Web API (health then comes from the loaded rows), or undefined. */
  private webApiMissing: string | undefined = undefined;
  private pageSize = clampPageSize(undefined);
  private features: DatasetFeatures = { sort: false, filter: false };
  private viewMessages: readonly string[] = [];
  private readAt = new Date(0);
  private healthVersion = 0;
  /** Set when the control itself asked for another page, sort or filter: the outbox did not change, so health is kept. */
  private navigating = false;
  private loadedOnce = false;
  private pageNumber = 1;
  private statusFilter: OutboxStatusValue[] = [];
  private themeSource: unknown = undefined;
  private hostTheme: HostTheme | undefined = undefined;

  public init(context: ComponentFramework.Context<IInputs>): void {
    this.context = context;
    context.mode?.trackContainerResize?.(true);
    const support = webApiSupportOf(context);
    if (support.webApi) {
      const webApi = support.webApi;
      // Writes need If-Match with the row's ETag, which context.webAPI cannot send: the Web API over fetch instead.
      const rows = createWebApiRows({ apiBase: webApiBaseOf(context), fetch: (input, init) => fetch(input, init) });
      this.services = {
        loadHealth: () => loadHealth(webApi, new Date()),
        runAction: (action, targets) => runAction(rows, action, targets),
        loadDetails: (id) => loadDetails(webApi, id),
      };
    } else {
      // Never call a Web API the host does not have (the pcf-start harness alerts on every call): health comes from the
      // loaded rows, and actions and details say why they are off.
      const reason = support.missing;
      this.webApiMissing = reason;
      const refused = (): Promise<never> => Promise.reject(new Error(`this needs the Dataverse Web API: ${reason}`));
      this.services = {
        loadHealth: () => Promise.resolve(healthFromRows(this.rows, this.columns, new Date())),
        runAction: refused,
        loadDetails: refused,
      };
    }
    this.pageSize = clampPageSize(context.parameters.pageSize?.raw);
    datasetAccess.setPageSize(context.parameters.records, this.pageSize);
  }

  public updateView(context: ComponentFramework.Context<IInputs>): React.ReactElement {
    this.context = context;
    const dataset = context.parameters.records;
    // Rebuild rows only when the dataset changed (a resize or theme change re-renders with the same rows). Hosts that
    // signal new data with an empty updatedProperties (pcf-start) are caught by the record list itself changing.
    const updated: unknown = context.updatedProperties;
    const named = Array.isArray(updated) && (updated.includes('dataset') || updated.includes('records'));
    const snapshot = datasetAccess.snapshotOf(dataset);
    const datasetChanged = !this.loadedOnce || named || !datasetAccess.sameSnapshot(this.snapshot, snapshot);
    if (datasetChanged && !dataset.loading) {
      this.snapshot = snapshot;
      this.readRows(dataset, named);
    }
    if (context.fluentDesignLanguage !== this.themeSource) {
      this.themeSource = context.fluentDesignLanguage;
      this.hostTheme = hostThemeOf(context);
    }

    const props: OutboxMonitorProps = {
      rows: this.rows,
      now: this.readAt,
      viewMessages: this.viewMessages,
      datasetError: dataset.error ? dataset.errorMessage || 'the view query failed' : undefined,
      loading: dataset.loading,
      paging: datasetAccess.pagingOf(dataset, this.pageNumber, this.pageSize),
      sort: datasetAccess.sortOf(dataset),
      statusFilter: this.statusFilter,
      features: this.featuresOf(dataset),
      webApiMissing: this.webApiMissing,
      width: Number(context.mode?.allocatedWidth) > 0 ? Number(context.mode.allocatedWidth) : 0,
      healthVersion: this.healthVersion,
      hostTheme: this.hostTheme,
      services: this.services,
      onSort: this.onSort,
      onPage: this.onPage,
      onSelect: this.onSelect,
      onOpen: this.onOpen,
      onStatusFilter: this.onStatusFilter,
      onRefresh: this.onRefresh,
    };
    return React.createElement(OutboxMonitorApp, props);
  }

  public getOutputs(): IOutputs {
    return {};
  }

  public destroy(): void {
    // React unmounts virtual controls itself; nothing else holds resources.
  }

  /** `named`: the host said the dataset changed (a reload), so the outbox may have changed too. */
  private readRows(dataset: DataSet, named: boolean): void {
    const available = new Set((Array.isArray(dataset.columns) ? dataset.columns : []).map((col) => col.name));
    const records = dataset.records as DataSet['records'] | undefined;
    this.columns = available;
    this.rows = (Array.isArray(dataset.sortedRecordIds) ? dataset.sortedRecordIds : []).map((id) => {
      const record = records?.[id];
      return toOutboxRow(
        id,
        (column) => ({ value: record?.getValue(column), formatted: record?.getFormattedValue(column) || undefined }),
        available,
      );
    });
    this.viewMessages = describeMissingColumns(available);
    this.readAt = new Date();
    // Health from loaded rows follows every load. From the Web API (the whole outbox) it reloads on the first load and
    // on reloads the host names that the control did not ask for (paging, sorting, filtering leave the outbox as it was).
    const outboxMayHaveChanged = this.webApiMissing !== undefined || !this.loadedOnce || (named && !this.navigating);
    if (named || this.webApiMissing !== undefined) this.navigating = false;
    if (outboxMayHaveChanged) this.healthVersion += 1;
    this.loadedOnce = true;
    if (dataset.paging?.hasPreviousPage !== true) this.pageNumber = 1;
  }

  /** The dataset's features, the same object while they stay the same (the memoised components compare props). */
  private featuresOf(dataset: DataSet): DatasetFeatures {
    const now = datasetAccess.featuresOf(dataset);
    if (now.sort !== this.features.sort || now.filter !== this.features.filter) this.features = now;
    return this.features;
  }

  /** Runs a dataset move with the state it leads to set first (a host may render inside the call); undone if refused. */
  private navigate(pageNumber: number, move: () => boolean): boolean {
    const before = this.pageNumber;
    this.pageNumber = pageNumber;
    this.navigating = true;
    if (move()) return true;
    this.pageNumber = before;
    this.navigating = false;
    return false;
  }

  private readonly onSort = (column: string, descending: boolean): void => {
    this.navigate(1, () => datasetAccess.sortBy(this.context.parameters.records, column, descending));
  };

  private readonly onPage = (target: PageTarget): void => {
    const current = this.pageNumber;
    const page = target === 'first' ? 1 : target === 'previous' ? Math.max(1, current - 1) : current + 1;
    this.navigate(page, () => datasetAccess.loadPage(this.context.parameters.records, page, current));
  };

  private readonly onSelect = (ids: string[]): void => {
    const dataset = this.context.parameters.records;
    if (typeof dataset.setSelectedRecordIds === 'function') dataset.setSelectedRecordIds(ids);
  };

  private readonly onOpen = (id: string): void => {
    const dataset = this.context.parameters.records;
    const record = dataset.records?.[id];
    if (record && typeof dataset.openDatasetItem === 'function') dataset.openDatasetItem(record.getNamedReference());
  };

  private readonly onStatusFilter = (statuses: OutboxStatusValue[]): void => {
    const expression: ComponentFramework.PropertyHelper.DataSetApi.FilterExpression | null =
      statuses.length === 0
        ? null
        : {
            filterOperator: filterOr,
            conditions: statuses.map((value) => ({ attributeName: statusColumn, conditionOperator: conditionEqual, value: String(value) })),
          };
    const before = this.statusFilter;
    this.statusFilter = statuses;
    if (!this.navigate(1, () => datasetAccess.filterBy(this.context.parameters.records, expression))) this.statusFilter = before;
  };

  private readonly onRefresh = (): void => {
    this.navigating = false;
    datasetAccess.refresh(this.context.parameters.records);
  };
}
