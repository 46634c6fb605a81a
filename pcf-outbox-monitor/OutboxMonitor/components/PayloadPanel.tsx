import { MessageBar, MessageBarType, Panel, PanelType, Spinner, useTheme } from '@fluentui/react';
import * as React from 'react';
import { describeError } from '../core/format';
import { formatPayload, HIDDEN_BY_COLUMN_SECURITY, type RowDetails } from '../core/services';
import { buildTimeline } from '../core/timeline';
import { RowTimeline } from './RowTimeline';

export interface PayloadPanelProps {
  /** The row whose details are shown; undefined: panel closed. */
  rowId: string | undefined;
  loadDetails: (id: string) => Promise<RowDetails>;
  onDismiss: () => void;
}

interface Loaded {
  id: string;
  details?: RowDetails;
  error?: string;
  /** When the details arrived: the timeline's "so far" waits are measured to then. */
  at?: Date;
}

/**
 * One row's timeline (RowTimeline), payload and full last error. Payload and error are rendered as React text children
 * inside <pre>, which React escapes: a payload containing <script> or HTML shows as text and never runs (never
 * dangerouslySetInnerHTML here).
 */
export const PayloadPanel = React.memo(function PayloadPanel({ rowId, loadDetails, onDismiss }: PayloadPanelProps): React.ReactElement {
  const theme = useTheme();
  const [loaded, setLoaded] = React.useState<Loaded | undefined>(undefined);

  React.useEffect(() => {
    if (rowId === undefined) return undefined;
    let current = true;
    loadDetails(rowId).then(
      (details) => current && setLoaded({ id: rowId, details, at: new Date() }),
      (error: unknown) => current && setLoaded({ id: rowId, error: describeError(error) }),
    );
    return () => {
      current = false;
    };
  }, [rowId, loadDetails]);

  const state = loaded && loaded.id === rowId ? loaded : undefined;
  const hidden = state?.details?.hiddenByColumnSecurity === true;
  const payload = React.useMemo(() => {
    if (!state?.details) return undefined;
    if (state.details.hiddenByColumnSecurity) return { text: HIDDEN_BY_COLUMN_SECURITY };
    return formatPayload(state.details.payload, state.details.contentType);
  }, [state]);
  const timeline = React.useMemo(() => (state?.details && state.at ? buildTimeline(state.details.timeline, state.at) : undefined), [state]);
  const preStyle: React.CSSProperties = {
    whiteSpace: 'pre-wrap',
    wordBreak: 'break-word',
    fontFamily: 'Consolas, Menlo, monospace',
    fontSize: 12,
    background: theme.palette.neutralLighter,
    color: theme.palette.neutralPrimary,
    padding: 8,
    margin: 0,
    maxHeight: '50vh',
    overflow: 'auto',
  };

  return (
    <Panel
      isOpen={rowId !== undefined}
      onDismiss={onDismiss}
      type={PanelType.medium}
      isLightDismiss
      headerText={state?.details?.name ? `Message: ${state.details.name}` : 'Message details'}
      closeButtonAriaLabel="Close details"
    >
      {!state ? <Spinner label="Loading message…" /> : null}
      {state?.error ? <MessageBar messageBarType={MessageBarType.error}>Could not load this message: {state.error}</MessageBar> : null}
      {state?.details && payload ? (
        <div style={{ display: 'flex', flexDirection: 'column', gap: 8 }}>
          <div style={{ fontSize: 12, color: theme.palette.neutralSecondary }}>
            Message id: {state.details.messageId ?? '—'} · Content type: {state.details.contentType ?? 'application/json (default)'}
          </div>
          {timeline ? <RowTimeline timeline={timeline} /> : null}
          <h3 style={{ margin: 0, fontSize: 14 }}>Payload</h3>
          {payload.note ? <MessageBar messageBarType={MessageBarType.info}>{payload.note}</MessageBar> : null}
          {hidden ? (
            <MessageBar messageBarType={MessageBarType.warning}>
              {HIDDEN_BY_COLUMN_SECURITY}: your user is in no column security profile that may read the payload, status and error
              (Outbox Operator or Outbox Reader). Ask an administrator to add you to one.
            </MessageBar>
          ) : null}
          <pre aria-label="Payload" tabIndex={0} data-payload="" style={preStyle}>
            {payload.text}
          </pre>
          <h3 style={{ margin: 0, fontSize: 14 }}>Last error</h3>
          <pre aria-label="Last error" tabIndex={0} data-full-error="" style={preStyle}>
            {hidden ? HIDDEN_BY_COLUMN_SECURITY : (state.details.lastError ?? 'none')}
          </pre>
        </div>
      ) : null}
    </Panel>
  );
});
PayloadPanel.displayName = 'PayloadPanel';
