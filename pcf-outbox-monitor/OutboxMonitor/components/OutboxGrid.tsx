import {
  CheckboxVisibility,
  ConstrainMode,
  DetailsList,
  DetailsListLayoutMode,
  Link,
  Selection,
  SelectionMode,
  useTheme,
  type IColumn,
} from '@fluentui/react';
import { isCanary, OutboxMessage } from '@dataverse-outbox/contract';
import * as React from 'react';
import { formatDuration, secondsBetween, truncate } from '../core/format';
import type { OutboxRow } from '../core/rows';
import { StatusBadge } from './StatusBadge';
import type { SortState } from './types';

export interface OutboxGridProps {
  rows: readonly OutboxRow[];
  /** When the rows were read; ages are relative to it so rendering stays pure. */
  now: Date;
  sort: SortState | undefined;
  /** False when the host's dataset cannot sort (no sorting list): headers are then not clickable. */
  sortable: boolean;
  narrow: boolean;
  onSort: (column: string, descending: boolean) => void;
  onSelect: (ids: string[]) => void;
  onOpen: (id: string) => void;
  onShowDetails: (id: string) => void;
}

const c = OutboxMessage.columns;
const empty = '—';
const errorPreviewLength = 80;

interface ColumnSpec {
  key: string;
  name: string;
  /** Dataverse column to sort by; undefined: not sortable (multi-line text cannot be sorted by Dataverse). */
  sortColumn: string | undefined;
  minWidth: number;
  maxWidth?: number;
  wide: boolean; // hidden in narrow layouts
  render: (row: OutboxRow) => React.ReactNode;
}

const nameOf = (row: OutboxRow): string => row.name ?? row.id;

type GridItem = OutboxRow & { key: string };

/** The bound view's rows: virtualised (DetailsList renders only what is on screen), sortable and selectable. */
export const OutboxGrid = React.memo(function OutboxGrid(props: OutboxGridProps): React.ReactElement {
  const { rows, now, sort, sortable, narrow, onSort, onOpen, onShowDetails } = props;
  const theme = useTheme();

  // Selection is created once; the latest onSelect is read when the selection changes.
  const onSelectRef = React.useRef(props.onSelect);
  React.useEffect(() => {
    onSelectRef.current = props.onSelect;
  }, [props.onSelect]);
  const [selection] = React.useState(() => {
    const created: Selection = new Selection({
      getKey: (item) => (item as GridItem).id,
      onSelectionChanged: () => onSelectRef.current(created.getSelection().map((item) => (item as GridItem).id)),
    });
    return created;
  });

  const specs = React.useMemo<ColumnSpec[]>(
    () => [
      { key: c.status, name: 'Status', sortColumn: c.status, minWidth: 100, maxWidth: 130, wide: false, render: (r) => <StatusBadge status={r.status} label={r.statusLabel} scheduledUntil={r.scheduledUntil} /> },
      {
        key: c.name,
        name: 'Name',
        sortColumn: c.name,
        minWidth: 140,
        maxWidth: 320,
        wide: false,
        render: (r) => (
          <span>
            {r.name ?? empty}
            {r.problems.length > 0 ? (
              <span role="note" style={{ display: 'block', color: theme.palette.orange, fontSize: 11, whiteSpace: 'normal' }}>
                ⚠ {r.problems.join('; ')}
              </span>
            ) : null}
          </span>
        ),
      },
      { key: c.target, name: 'Target', sortColumn: c.target, minWidth: 100, maxWidth: 200, wide: true, render: (r) => r.target ?? empty },
      { key: c.eventType, name: 'Event type', sortColumn: c.eventType, minWidth: 100, maxWidth: 200, wide: true, render: (r) =>
          // Canary rows (contract isCanary: obx_eventtype outbox.canary) are tagged so they are told apart from business events.
          isCanary({ eventType: r.eventType }) ? (
            <span data-canary="true" title="A canary: proves the path end to end (docs/operations.md, Canary)">
              <span style={{ padding: '0 6px', marginRight: 4, borderRadius: 8, border: '1px dashed currentColor', fontSize: '0.85em' }}>canary</span>
              {r.eventType}
            </span>
          ) : (r.eventType ?? empty) },
      { key: c.sessionKey, name: 'Session key', sortColumn: c.sessionKey, minWidth: 90, maxWidth: 180, wide: true, render: (r) => r.sessionKey ?? empty },
      { key: c.attempts, name: 'Attempts', sortColumn: c.attempts, minWidth: 60, maxWidth: 70, wide: true, render: (r) => (r.attempts === undefined ? empty : String(r.attempts)) },
      {
        key: c.createdOn,
        name: 'Age',
        sortColumn: c.createdOn,
        minWidth: 70,
        maxWidth: 90,
        wide: false,
        render: (r) => (r.createdOn ? <span title={r.createdOn.toISOString()}>{formatDuration(secondsBetween(r.createdOn, now))}</span> : empty),
      },
      {
        key: c.lastError,
        name: 'Last error',
        sortColumn: undefined,
        minWidth: 160,
        wide: false,
        render: (r) => (r.lastError ? <span data-last-error="">{truncate(r.lastError, errorPreviewLength)}</span> : empty),
      },
      {
        key: 'details',
        name: 'Details',
        sortColumn: undefined,
        minWidth: 50,
        maxWidth: 60,
        wide: false,
        render: (r) => (
          <Link onClick={() => onShowDetails(r.id)} aria-label={`Show payload and full error of ${nameOf(r)}`}>
            View
          </Link>
        ),
      },
    ],
    [now, onShowDetails, theme],
  );

  const columns = React.useMemo<IColumn[]>(
    () =>
      specs
        .filter((s) => !narrow || !s.wide)
        .map((s) => {
          const sorted = s.sortColumn !== undefined && sort?.column === s.sortColumn;
          return {
            key: s.key,
            name: s.name,
            fieldName: s.key,
            minWidth: s.minWidth,
            ...(s.maxWidth !== undefined ? { maxWidth: s.maxWidth } : {}),
            isResizable: true,
            isSorted: sorted,
            isSortedDescending: sorted && sort?.descending === true,
            ...(s.sortColumn !== undefined && sortable
              ? {
                  sortAscendingAriaLabel: 'Sorted ascending',
                  sortDescendingAriaLabel: 'Sorted descending',
                  onColumnClick: () => onSort(s.sortColumn as string, sorted ? !sort?.descending : false),
                }
              : { columnActionsMode: 0 }),
            onRender: (item?: OutboxRow) => (item ? s.render(item) : null),
          };
        }),
    [specs, narrow, sort, sortable, onSort],
  );

  const items = React.useMemo(() => rows.map((row) => ({ ...row, key: row.id })), [rows]);

  return (
    <div data-is-scrollable="true" style={{ overflow: 'auto', maxHeight: '70vh', minHeight: 120 }}>
      <DetailsList
        items={items}
        columns={columns}
        selection={selection}
        selectionMode={SelectionMode.multiple}
        checkboxVisibility={CheckboxVisibility.always}
        selectionPreservedOnEmptyClick
        layoutMode={DetailsListLayoutMode.justified}
        constrainMode={ConstrainMode.unconstrained}
        compact={narrow}
        setKey="outbox-rows"
        onItemInvoked={(item?: OutboxRow) => item && onOpen(item.id)}
        ariaLabelForGrid="Outbox messages. Press Enter or double-click a row to open it."
        ariaLabelForSelectionColumn="Toggle selection"
        ariaLabelForSelectAllCheckbox="Select all rows on this page"
        checkButtonAriaLabel="Select row"
      />
    </div>
  );
});
OutboxGrid.displayName = 'OutboxGrid';
