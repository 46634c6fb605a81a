// The bound dataset, read and driven defensively. The PCF typings promise `sorting`, `filtering`, `paging.pageSize`,
// `paging.loadExactPage` and more, but hosts differ: Microsoft's own test harness (pcf-start) gives no `sorting`, no
// `pageSize` and no `loadExactPage`. A member a host lacks turns the matching feature off; it never throws.
import type { DatasetFeatures, PagingState, SortState } from './components/types';

type DataSet = ComponentFramework.PropertyTypes.DataSet;
type SortStatus = ComponentFramework.PropertyHelper.DataSetApi.SortStatus;
type FilterExpression = ComponentFramework.PropertyHelper.DataSetApi.FilterExpression;

/** SortDirection 1 = descending (PCF enum). */
const sortDescending = 1;

const fn = (owner: unknown, name: string): ((...args: never[]) => unknown) | undefined => {
  const value = owner && typeof owner === 'object' ? (owner as Record<string, unknown>)[name] : undefined;
  return typeof value === 'function' ? (value as (...args: never[]) => unknown) : undefined;
};

/** The members a host may leave out, typed as possibly missing. */
interface LooseDataSet {
  sorting?: unknown;
  filtering?: unknown;
  paging?: unknown;
  refresh?: unknown;
}

const loose = (dataset: DataSet): LooseDataSet => dataset;

/** Sorting needs a sorting list and refresh(); filtering needs setFilter, clearFilter and refresh(). */
export function featuresOf(dataset: DataSet): DatasetFeatures {
  const d = loose(dataset);
  const canRefresh = typeof d.refresh === 'function';
  return {
    sort: canRefresh && Array.isArray(d.sorting),
    filter: canRefresh && !!fn(d.filtering, 'setFilter') && !!fn(d.filtering, 'clearFilter'),
  };
}

export function sortOf(dataset: DataSet): SortState | undefined {
  const sorting = loose(dataset).sorting;
  const first: unknown = Array.isArray(sorting) ? sorting[0] : undefined;
  if (!first || typeof first !== 'object') return undefined;
  const { name, sortDirection } = first as Partial<SortStatus>;
  return typeof name === 'string' ? { column: name, descending: sortDirection === sortDescending } : undefined;
}

const numberOr = (value: unknown, fallback: number): number => (typeof value === 'number' && Number.isFinite(value) ? value : fallback);

/** The paging state; `requestedPageSize` stands in when the host does not report its page size. */
export function pagingOf(dataset: DataSet, pageNumber: number, requestedPageSize: number): PagingState {
  const paging = (loose(dataset).paging ?? {}) as Partial<Record<'pageSize' | 'totalResultCount' | 'hasNextPage' | 'hasPreviousPage', unknown>>;
  const total = numberOr(paging.totalResultCount, -1);
  return {
    pageNumber,
    pageSize: numberOr(paging.pageSize, requestedPageSize),
    totalCount: total >= 0 ? total : undefined,
    hasNextPage: paging.hasNextPage === true,
    hasPreviousPage: paging.hasPreviousPage === true,
  };
}

export function setPageSize(dataset: DataSet, size: number): void {
  const paging = loose(dataset).paging;
  fn(paging, 'setPageSize')?.call(paging, size as never);
}

/** Loads page `page` (1-based) coming from `current`: loadExactPage when the host has it, else next/previous/reset. */
export function loadPage(dataset: DataSet, page: number, current: number): boolean {
  const paging = loose(dataset).paging;
  const exact = fn(paging, 'loadExactPage');
  if (exact) {
    exact.call(paging, page as never);
    return true;
  }
  const step = page === current + 1 ? fn(paging, 'loadNextPage') : page === current - 1 ? fn(paging, 'loadPreviousPage') : undefined;
  if (step) {
    step.call(paging);
    return true;
  }
  const reset = fn(paging, 'reset');
  const refresh = fn(dataset, 'refresh');
  if (page === 1 && reset && refresh) {
    reset.call(paging);
    refresh.call(dataset);
    return true;
  }
  return false;
}

/** Replaces the sort and refreshes; false when the host cannot sort. */
export function sortBy(dataset: DataSet, column: string, descending: boolean): boolean {
  if (!featuresOf(dataset).sort) return false;
  // The dataset API is driven by mutating its sorting list, then refreshing.
  dataset.sorting.splice(0, dataset.sorting.length, { name: column, sortDirection: descending ? 1 : 0 });
  dataset.refresh();
  return true;
}

/** Sets (or with null clears) the filter and refreshes; false when the host cannot filter. */
export function filterBy(dataset: DataSet, expression: FilterExpression | null): boolean {
  if (!featuresOf(dataset).filter) return false;
  if (expression) dataset.filtering.setFilter(expression);
  else dataset.filtering.clearFilter();
  dataset.refresh();
  return true;
}

export function refresh(dataset: DataSet): void {
  fn(dataset, 'refresh')?.call(dataset);
}

/**
 * What identifies the rows a render shows. The platform names the dataset in updatedProperties when it reloads; some
 * hosts (pcf-start) signal new data with an empty updatedProperties, so a different record list also counts as a change.
 */
export interface DatasetSnapshot {
  records: unknown;
  ids: readonly string[];
  columns: unknown;
}

export function snapshotOf(dataset: DataSet): DatasetSnapshot {
  const ids: unknown = dataset.sortedRecordIds;
  return { records: dataset.records, ids: Array.isArray(ids) ? [...(ids as string[])] : [], columns: dataset.columns };
}

export function sameSnapshot(a: DatasetSnapshot | undefined, b: DatasetSnapshot): boolean {
  return !!a && a.records === b.records && a.columns === b.columns && a.ids.length === b.ids.length && a.ids.every((id, i) => id === b.ids[i]);
}
