import { DefaultButton, MessageBar, MessageBarType, Spinner, SpinnerSize, ThemeProvider, useTheme } from '@fluentui/react';
import * as React from 'react';
import { formatCount } from '../core/format';
import type { OutboxRow } from '../core/rows';
import { statusLabels, statusOrder, type OutboxStatusValue } from '../core/status';
import { OutboxStatus } from '@dataverse-outbox/contract';
import { Actions } from './Actions';
import { HealthHeader } from './HealthHeader';
import { OutboxGrid } from './OutboxGrid';
import { PayloadPanel } from './PayloadPanel';
import { themeFromHost } from './theme';
import type { DatasetFeatures, HostTheme, MonitorServices, PageTarget, PagingState, SortState } from './types';

export interface OutboxMonitorProps {
  rows: readonly OutboxRow[];
  /** When the rows were read (ages are relative to it). */
  now: Date;
  /** Specific problems with the bound view (missing columns), shown above the grid. */
  viewMessages: readonly string[];
  /** The dataset's own error, if its query failed. */
  datasetError: string | undefined;
  loading: boolean;
  paging: PagingState;
  sort: SortState | undefined;
  statusFilter: readonly OutboxStatusValue[];
  /** What the host's dataset supports: sorting by header, filtering by status chips. */
  features: DatasetFeatures;
  /** Why this host has no Dataverse Web API (one notice; actions off), or undefined when it has one. */
  webApiMissing: string | undefined;
  /** Width the host gives the control, in pixels (0 when unknown). */
  width: number;
  /** Changes when the outbox may have changed (first load, refresh, after an action); the health header reloads with it. */
  healthVersion: number;
  hostTheme: HostTheme | undefined;
  services: MonitorServices;
  onSort: (column: string, descending: boolean) => void;
  onPage: (target: PageTarget) => void;
  onSelect: (ids: string[]) => void;
  onOpen: (id: string) => void;
  onStatusFilter: (statuses: OutboxStatusValue[]) => void;
  onRefresh: () => void;
}

/** Below this width the control drops secondary columns and the chart (a narrow form section). */
export const narrowWidth = 640;

interface StatusChipsProps {
  selected: readonly OutboxStatusValue[];
  onChange: (statuses: OutboxStatusValue[]) => void;
}

const StatusChips = React.memo(function StatusChips({ selected, onChange }: StatusChipsProps): React.ReactElement {
  const toggle = (value: OutboxStatusValue): void =>
    onChange(selected.includes(value) ? selected.filter((v) => v !== value) : [...selected, value]);
  return (
    <div role="group" aria-label="Filter by status" style={{ display: 'flex', flexWrap: 'wrap', gap: 4 }}>
      <DefaultButton text="All" toggle checked={selected.length === 0} aria-pressed={selected.length === 0} onClick={() => onChange([])} styles={{ root: { minWidth: 0, height: 26, borderRadius: 13 } }} />
      {statusOrder.map((name) => {
        const value = OutboxStatus[name];
        const on = selected.includes(value);
        return (
          <DefaultButton
            key={name}
            text={statusLabels[name]}
            toggle
            checked={on}
            aria-pressed={on}
            data-chip={name}
            onClick={() => toggle(value)}
            styles={{ root: { minWidth: 0, height: 26, borderRadius: 13 } }}
          />
        );
      })}
    </div>
  );
});
StatusChips.displayName = 'StatusChips';

const Monitor = React.memo(function Monitor(props: OutboxMonitorProps): React.ReactElement {
  const { rows, paging, services } = props;
  const theme = useTheme();
  const narrow = props.width > 0 && props.width < narrowWidth;
  const [selectedIds, setSelectedIds] = React.useState<readonly string[]>([]);
  const [detailsId, setDetailsId] = React.useState<string | undefined>(undefined);

  const { onSelect } = props;
  const select = React.useCallback(
    (ids: string[]) => {
      setSelectedIds(ids);
      onSelect(ids);
    },
    [onSelect],
  );
  const selectedRows = React.useMemo(() => rows.filter((r) => selectedIds.includes(r.id)), [rows, selectedIds]);
  const closeDetails = React.useCallback(() => setDetailsId(undefined), []);

  const total = paging.totalCount !== undefined && paging.totalCount >= 0 ? ` of ${formatCount(paging.totalCount)}` : '';
  return (
    <div
      style={{ display: 'flex', flexDirection: 'column', gap: 10, padding: 8, color: theme.palette.neutralPrimary, background: theme.palette.white, fontFamily: theme.fonts.medium.fontFamily }}
      data-narrow={narrow ? 'true' : 'false'}
    >
      {props.webApiMissing !== undefined ? (
        <MessageBar messageBarType={MessageBarType.info} isMultiline data-host-notice="no-web-api">
          This host has no Dataverse Web API ({props.webApiMissing}), as in Microsoft&apos;s PCF test harness. The grid shows the rows the host
          loaded and the health summary is computed from them; Retry, Replay, Cancel and message details need the Web API and are off.
        </MessageBar>
      ) : null}
      <HealthHeader loadHealth={services.loadHealth} reloadKey={props.healthVersion} narrow={narrow} />
      <Actions selectedRows={selectedRows} runAction={services.runAction} onRefresh={props.onRefresh} unavailable={props.webApiMissing} />
      {props.features.filter ? <StatusChips selected={props.statusFilter} onChange={props.onStatusFilter} /> : null}
      {props.viewMessages.map((message) => (
        <MessageBar key={message} messageBarType={MessageBarType.warning} isMultiline>
          {message}
        </MessageBar>
      ))}
      {props.datasetError !== undefined ? (
        <MessageBar messageBarType={MessageBarType.error} isMultiline>
          Could not load the view: {props.datasetError}
        </MessageBar>
      ) : null}
      {props.loading ? <Spinner size={SpinnerSize.small} label="Loading rows…" labelPosition="right" /> : null}
      {!props.loading && props.datasetError === undefined && rows.length === 0 ? (
        <MessageBar>No outbox rows match this view{props.statusFilter.length > 0 ? ' and status filter' : ''}.</MessageBar>
      ) : null}
      <OutboxGrid rows={rows} now={props.now} sort={props.sort} sortable={props.features.sort} narrow={narrow} onSort={props.onSort} onSelect={select} onOpen={props.onOpen} onShowDetails={setDetailsId} />
      <nav aria-label="Pages" style={{ display: 'flex', flexWrap: 'wrap', gap: 8, alignItems: 'center' }}>
        <DefaultButton text="First" ariaLabel="First page" disabled={!paging.hasPreviousPage} onClick={() => props.onPage('first')} />
        <DefaultButton text="Previous" ariaLabel="Previous page" disabled={!paging.hasPreviousPage} onClick={() => props.onPage('previous')} />
        <DefaultButton text="Next" ariaLabel="Next page" disabled={!paging.hasNextPage} onClick={() => props.onPage('next')} />
        <span aria-live="polite" style={{ fontSize: 12 }}>
          Page {paging.pageNumber} · {formatCount(rows.length)} rows shown{total}
        </span>
      </nav>
      <PayloadPanel rowId={detailsId} loadDetails={services.loadDetails} onDismiss={closeDetails} />
    </div>
  );
});
Monitor.displayName = 'Monitor';

/** The whole control. Uses the host's theme: its Fluent 9 tokens when it passes them, else the Fluent 8 theme it loaded. */
export const OutboxMonitorApp = React.memo(function OutboxMonitorApp(props: OutboxMonitorProps): React.ReactElement {
  const theme = React.useMemo(() => (props.hostTheme ? themeFromHost(props.hostTheme) : undefined), [props.hostTheme]);
  return theme ? (
    <ThemeProvider theme={theme}>
      <Monitor {...props} />
    </ThemeProvider>
  ) : (
    <Monitor {...props} />
  );
});
OutboxMonitorApp.displayName = 'OutboxMonitorApp';
