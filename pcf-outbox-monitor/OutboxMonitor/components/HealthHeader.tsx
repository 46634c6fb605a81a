import { MessageBar, MessageBarType, Spinner, SpinnerSize, useTheme } from '@fluentui/react';
import * as React from 'react';
import { formatCount, healthLimits, type HealthIndicator, type HealthLevel } from '@dataverse-outbox/contract';
import { evaluateFacts } from '../core/health';
import { describeError, formatDuration } from '../core/format';
import type { HealthReport } from '../core/services';
import { statusLabels, statusOrder } from '../core/status';
import { HealthChart } from './HealthChart';
import { levelColor, levelLabel } from './theme';

export interface HealthHeaderProps {
  loadHealth: () => Promise<HealthReport>;
  /** Changes whenever the dataset changes: the header reloads with it. */
  reloadKey: number;
  narrow: boolean;
}

interface Loaded {
  key: number;
  report?: HealthReport;
  error?: string;
}

interface TileProps {
  label: string;
  value: string;
  level: HealthLevel | undefined;
  hint?: string | undefined;
}

const Tile = React.memo(function Tile({ label, value, level, hint }: TileProps): React.ReactElement {
  const theme = useTheme();
  const levelText = level ? levelLabel[level] : 'Unknown';
  return (
    <div
      role="group"
      aria-label={`${label}: ${value}, ${levelText}`}
      data-level={level ?? 'unknown'}
      title={hint}
      style={{
        borderLeft: `4px solid ${levelColor(theme, level)}`,
        background: theme.palette.neutralLighter,
        padding: '4px 10px',
        minWidth: 120,
        flex: '1 1 120px',
      }}
    >
      <div style={{ fontSize: 12, color: theme.palette.neutralSecondary }}>{label}</div>
      <div style={{ fontSize: 20, fontWeight: 600, color: theme.palette.neutralPrimary }}>{value}</div>
      <div style={{ fontSize: 11, color: theme.palette.neutralSecondary }}>{levelText}</div>
    </div>
  );
});
Tile.displayName = 'HealthTile';

const showDuration = (indicator: HealthIndicator, whenEmpty: string): string => (indicator.value === undefined ? whenEmpty : formatDuration(indicator.value));
/** A count, "50,000+" when it is only a lower bound. */
const showCount = (indicator: HealthIndicator): string => (indicator.value === undefined ? 'n/a' : formatCount(indicator.value, indicator.atLeast));

/** Health at a glance: server-side counts by status, stall indicators and the last 24 hours. */
export const HealthHeader = React.memo(function HealthHeader({ loadHealth, reloadKey, narrow }: HealthHeaderProps): React.ReactElement {
  const theme = useTheme();
  const [loaded, setLoaded] = React.useState<Loaded | undefined>(undefined);

  React.useEffect(() => {
    let current = true;
    loadHealth().then(
      (report) => current && setLoaded({ key: reloadKey, report }),
      (error: unknown) => current && setLoaded({ key: reloadKey, error: describeError(error) }),
    );
    return () => {
      current = false;
    };
  }, [loadHealth, reloadKey]);

  const report = loaded?.report;
  const evaluation = React.useMemo(
    () =>
      report &&
      evaluateFacts(
        {
          counts: report.counts.ok ? report.counts.value : undefined,
          oldestPendingCreatedOn: report.oldestPending.ok ? report.oldestPending.value : undefined,
          lastPublishedOn: report.lastPublish.ok ? report.lastPublish.value : undefined,
        },
        report.thresholds,
        report.generatedAt,
      ),
    [report],
  );

  if (!loaded) return <Spinner size={SpinnerSize.small} label="Loading outbox health…" />;
  if (!report || !evaluation) {
    return <MessageBar messageBarType={MessageBarType.error}>Outbox health unavailable: {loaded.error}</MessageBar>;
  }
  const counts = report.counts.ok ? report.counts.value : undefined;
  const limits = healthLimits(report.thresholds);
  const ageHint = `amber above ${formatDuration(limits.pendingAgeSeconds.amberAbove)}, red above ${formatDuration(limits.pendingAgeSeconds.redAbove)}`;
  const problems = [report.counts, report.oldestPending, report.lastPublish, report.series]
    .filter((o): o is { ok: false; error: string } => !o.ok)
    .map((o) => o.error);
  // From loaded rows only (no Web API), facts the rows cannot give are expected: one caption, not one error bar each.
  const scope = report.scope;

  return (
    <section aria-label="Outbox health" aria-busy={loaded.key !== reloadKey} style={{ display: 'flex', flexDirection: 'column', gap: 6 }}>
      <div style={{ display: 'flex', flexWrap: 'wrap', gap: 8, alignItems: 'stretch' }}>
        <Tile
          label="Overall"
          value={evaluation.level ? levelLabel[evaluation.level] : 'Unknown'}
          level={evaluation.level}
          hint={evaluation.reasons.length > 0 ? evaluation.reasons.join('; ') : undefined}
        />
        <Tile
          label="Oldest pending"
          value={report.oldestPending.ok && report.oldestPending.value === null ? 'none' : showDuration(evaluation.oldestPendingAge, 'n/a')}
          level={evaluation.oldestPendingAge.level}
          hint={`The oldest pending row: ${ageHint}`}
        />
        <Tile
          label="Since last publish"
          value={report.lastPublish.ok && report.lastPublish.value === null ? 'never' : showDuration(evaluation.sinceLastPublish, 'n/a')}
          level={evaluation.sinceLastPublish.level}
          hint={`Judged only while rows are pending: how long they have waited with no publish, ${ageHint}`}
        />
        <Tile label="Failed" value={showCount(evaluation.failed)} level={evaluation.failed.level} hint={`Red above ${formatCount(limits.failed.redAbove)}`} />
        <Tile
          label="Dead-lettered"
          value={showCount(evaluation.deadLettered)}
          level={evaluation.deadLettered.level}
          hint={`Red above ${formatCount(limits.deadLettered.redAbove)}`}
        />
        {report.series.ok && !narrow ? <HealthChart buckets={report.series.value.buckets} capped={report.series.value.capped} /> : null}
      </div>
      {counts ? (
        <div
          aria-label="Rows by status"
          title={counts.total === undefined ? 'Counted up to a limit ("100+" = at least 100); finished rows (Published, Acked, Cancelled) are not counted' : undefined}
          style={{ display: 'flex', flexWrap: 'wrap', gap: 12, fontSize: 12, color: theme.palette.neutralSecondary }}
        >
          {statusOrder.map((name) => {
            const n = counts.byStatus[name];
            return n === undefined ? null : (
              <span key={name} data-count-status={name}>
                {statusLabels[name]}: <strong style={{ color: theme.palette.neutralPrimary }}>{formatCount(n, counts.capped.includes(name))}</strong>
              </span>
            );
          })}
          {counts.total === undefined ? null : (
            <span>
              Total: <strong style={{ color: theme.palette.neutralPrimary }}>{formatCount(counts.total, counts.capped.length > 0)}</strong>
            </span>
          )}
        </div>
      ) : null}
      {counts && counts.unknown.length > 0 ? (
        <MessageBar messageBarType={MessageBarType.warning}>
          {counts.unknown.map((u) => `${formatCount(u.count)} rows with ${u.label}`).join('; ')}: this monitor does not know that status. Check the
          obx_outboxstatus choice.
        </MessageBar>
      ) : null}
      {scope ? (
        <div data-health-scope="loaded-rows" style={{ fontSize: 12, color: theme.palette.neutralSecondary }}>
          From the {formatCount(scope.loadedRows)} row{scope.loadedRows === 1 ? '' : 's'} loaded in this view, not the whole outbox; default
          thresholds.{problems.length > 0 ? ` Not known from these rows: ${problems.join('; ')}.` : ''}
        </div>
      ) : (
        problems.map((p) => (
          <MessageBar key={p} messageBarType={MessageBarType.error}>
            {p}
          </MessageBar>
        ))
      )}
      {report.thresholdsProblem ? <MessageBar messageBarType={MessageBarType.warning}>{report.thresholdsProblem}</MessageBar> : null}
    </section>
  );
});
HealthHeader.displayName = 'HealthHeader';
