// The PCF adapter: turns the context into plain typed props and routes callbacks back to the dataset API.
// Dataset operations (sort, paging, filter, selection, open record) live here; components never see the context.
import { OutboxMessage } from '@dataverse-outbox/solution/names';
import * as React from 'react';
import { OutboxMonitorApp, type OutboxMonitorProps } from './components/OutboxMonitorApp';
import type { HostTheme, MonitorServices, PageTarget, PagingState, SortState } from './components/types';
import { clampPageSize } from './core/pageSize';
import { describeMissingColumns, toOutboxRow, type OutboxRow } from './core/rows';
import { runAction } from './core/runAction';
import { loadDetails, loadHealth, type WebApiPort } from './core/services';
import type { OutboxStatusValue } from './core/status';
import type { IInputs, IOutputs } from './inputs';
import { createWebApiRows, webApiBaseOf } from './webApiRows';

type DataSet = ComponentFramework.PropertyTypes.DataSet;

const statusColumn = OutboxMessage.columns.status;

/** SortDirection 0 = ascending, 1 = descending; ConditionOperator 0 = Equal; FilterOperator 1 = Or (PCF enums). */
const sortDescending = 1;
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
    context.mode.trackContainerResize(true);
    const webApi: WebApiPort = context.webAPI;
    // Writes need If-Match with the row's ETag, which context.webAPI cannot send: the Web API over fetch instead.
    const rows = createWebApiRows({ apiBase: webApiBaseOf(context), fetch: (input, init) => fetch(input, init) });
    this.services = {
      loadHealth: () => loadHealth(webApi, new Date()),
      runAction: (action, targets) => runAction(rows, action, targets),
      loadDetails: (id) => loadDetails(webApi, id),
    };
    context.parameters.records.paging.setPageSize(clampPageSize(context.parameters.pageSize?.raw));
  }

  public updateView(context: ComponentFramework.Context<IInputs>): React.ReactElement {
    this.context = context;
    const dataset = context.parameters.records;
    // Rebuild rows only when the dataset itself changed (a resize or theme change re-renders with the same rows).
    const datasetChanged = !this.loadedOnce || context.updatedProperties.includes('dataset') || context.updatedProperties.includes('records');
    if (datasetChanged && !dataset.loading) this.readRows(dataset);
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
      paging: this.pagingOf(dataset),
      sort: this.sortOf(dataset),
      statusFilter: this.statusFilter,
      width: Number(context.mode.allocatedWidth) > 0 ? Number(context.mode.allocatedWidth) : 0,
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

  private readRows(dataset: DataSet): void {
    const available = new Set(dataset.columns.map((col) => col.name));
    this.rows = dataset.sortedRecordIds.map((id) => {
      const record = dataset.records[id];
      return toOutboxRow(
        id,
        (column) => ({ value: record?.getValue(column), formatted: record?.getFormattedValue(column) || undefined }),
        available,
      );
    });
    this.viewMessages = describeMissingColumns(available);
    this.readAt = new Date();
    if (this.navigating) this.navigating = false;
    else this.healthVersion += 1;
    this.loadedOnce = true;
    if (!dataset.paging.hasPreviousPage) this.pageNumber = 1;
  }

  private pagingOf(dataset: DataSet): PagingState {
    const { paging } = dataset;
    return {
      pageNumber: this.pageNumber,
      pageSize: paging.pageSize,
      totalCount: paging.totalResultCount >= 0 ? paging.totalResultCount : undefined,
      hasNextPage: paging.hasNextPage,
      hasPreviousPage: paging.hasPreviousPage,
    };
  }

  private sortOf(dataset: DataSet): SortState | undefined {
    const first = dataset.sorting[0];
    return first ? { column: first.name, descending: first.sortDirection === sortDescending } : undefined;
  }

  private readonly onSort = (column: string, descending: boolean): void => {
    const dataset = this.context.parameters.records;
    // The dataset API is driven by mutating its sorting list, then refreshing.
    dataset.sorting.splice(0, dataset.sorting.length, { name: column, sortDirection: descending ? 1 : 0 });
    this.pageNumber = 1;
    this.navigating = true;
    dataset.refresh();
  };

  private readonly onPage = (target: PageTarget): void => {
    const paging = this.context.parameters.records.paging;
    const page = target === 'first' ? 1 : target === 'previous' ? Math.max(1, this.pageNumber - 1) : this.pageNumber + 1;
    this.pageNumber = page;
    this.navigating = true;
    paging.loadExactPage(page);
  };

  private readonly onSelect = (ids: string[]): void => {
    this.context.parameters.records.setSelectedRecordIds(ids);
  };

  private readonly onOpen = (id: string): void => {
    const dataset = this.context.parameters.records;
    const record = dataset.records[id];
    if (record) dataset.openDatasetItem(record.getNamedReference());
  };

  private readonly onStatusFilter = (statuses: OutboxStatusValue[]): void => {
    const dataset = this.context.parameters.records;
    this.statusFilter = statuses;
    if (statuses.length === 0) dataset.filtering.clearFilter();
    else {
      dataset.filtering.setFilter({
        filterOperator: filterOr,
        conditions: statuses.map((value) => ({ attributeName: statusColumn, conditionOperator: conditionEqual, value: String(value) })),
      });
    }
    this.pageNumber = 1;
    this.navigating = true;
    dataset.refresh();
  };

  private readonly onRefresh = (): void => {
    this.navigating = false;
    this.context.parameters.records.refresh();
  };
}
