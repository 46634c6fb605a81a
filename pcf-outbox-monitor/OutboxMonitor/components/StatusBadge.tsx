import { useTheme } from '@fluentui/react';
import * as React from 'react';
import { formatUtc } from '../core/format';
import { statusLabels, type StatusReading } from '../core/status';
import { statusColor } from './theme';

export interface StatusBadgeProps {
  status: StatusReading;
  /** The host's label for the choice, preferred when present (localised environments). */
  label?: string | undefined;
  /** A Pending scheduled event not due yet (contract scheduledUntil): shown as "Scheduled until <time>". */
  scheduledUntil?: Date | undefined;
}

/** A status pill: a coloured dot and the status in words (colour is never the only signal). */
export const StatusBadge = React.memo(function StatusBadge({ status, label, scheduledUntil }: StatusBadgeProps): React.ReactElement {
  const theme = useTheme();
  if (status.kind === 'missing') return <span aria-label="No status">—</span>;
  const named = status.kind === 'known' ? (label ?? statusLabels[status.name]) : `Unknown (${status.raw})`;
  const text = scheduledUntil ? `Scheduled until ${formatUtc(scheduledUntil)}` : named;
  const color = statusColor(theme, status.kind === 'known' ? status.name : 'unknown');
  return (
    <span
      data-status={status.kind === 'known' ? status.name : 'unknown'}
      data-scheduled={scheduledUntil ? 'true' : undefined}
      title={scheduledUntil ? `${named}: not sent before ${formatUtc(scheduledUntil)} (cancel works until then)` : undefined}
      style={{
        display: 'inline-flex',
        alignItems: 'center',
        gap: 4,
        padding: '0 8px',
        borderRadius: 10,
        border: `1px solid ${color}`,
        color: theme.palette.neutralPrimary,
        lineHeight: '18px',
        whiteSpace: 'nowrap',
      }}
    >
      <span aria-hidden="true" style={{ width: 8, height: 8, borderRadius: 4, background: color }} />
      {text}
    </span>
  );
});
StatusBadge.displayName = 'StatusBadge';
