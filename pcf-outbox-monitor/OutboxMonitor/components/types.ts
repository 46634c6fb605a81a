// Plain props shared by the components. index.ts builds these from the PCF context; components never see the context.
import type { OperatorAction } from '@dataverse-outbox/contract';
import type { ActionResult, ActionTarget } from '../core/runAction';
import type { HealthReport, RowDetails } from '../core/services';
import type { OutboxStatusValue } from '../core/status';

export interface MonitorServices {
  loadHealth: () => Promise<HealthReport>;
  runAction: (action: OperatorAction, rows: readonly ActionTarget[]) => Promise<ActionResult[]>;
  loadDetails: (id: string) => Promise<RowDetails>;
}

export interface PagingState {
  pageNumber: number;
  pageSize: number;
  /** -1 or undefined when the host does not know the total. */
  totalCount: number | undefined;
  hasNextPage: boolean;
  hasPreviousPage: boolean;
}

export interface SortState {
  column: string;
  descending: boolean;
}

export type PageTarget = 'first' | 'previous' | 'next';

/** Dataset features a host may lack (Microsoft's PCF test harness has no sorting list). */
export interface DatasetFeatures {
  sort: boolean;
  filter: boolean;
}

/** The few host theme colours the control maps onto Fluent 8 (from context.fluentDesignLanguage when the host has one). */
export interface HostTheme {
  isDark: boolean;
  brand: string;
  brandHover: string;
  brandPressed: string;
  foreground: string;
  foregroundSecondary: string;
  foregroundDisabled: string;
  background: string;
  backgroundAlt: string;
  stroke: string;
}

export type StatusFilter = readonly OutboxStatusValue[];
