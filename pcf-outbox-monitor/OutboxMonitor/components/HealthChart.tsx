import { useTheme } from '@fluentui/react';
import * as React from 'react';
import type { HourBucket } from '../core/health';

export interface HealthChartProps {
  buckets: readonly HourBucket[];
  capped: boolean;
}

const barWidth = 4;
const slot = 10;
const height = 40;

/** Published vs failed per hour over the last 24 hours, as a small SVG (no chart library in the bundle). */
export const HealthChart = React.memo(function HealthChart({ buckets, capped }: HealthChartProps): React.ReactElement {
  const theme = useTheme();
  const totals = React.useMemo(
    () => buckets.reduce((t, b) => ({ published: t.published + b.published, failed: t.failed + b.failed, max: Math.max(t.max, b.published, b.failed) }), { published: 0, failed: 0, max: 0 }),
    [buckets],
  );
  const scale = (n: number): number => (totals.max === 0 ? 0 : Math.max(n > 0 ? 1 : 0, Math.round((n / totals.max) * height)));
  const summary = `Last 24 hours: ${totals.published}${capped ? '+' : ''} published, ${totals.failed}${capped ? '+' : ''} failed`;
  const published = theme.palette.teal;
  const failed = theme.palette.red;
  return (
    <figure style={{ margin: 0 }}>
      <svg role="img" aria-label={summary} width={buckets.length * slot} height={height + 2} viewBox={`0 0 ${buckets.length * slot} ${height + 2}`}>
        <title>{summary}</title>
        <line x1={0} x2={buckets.length * slot} y1={height + 1} y2={height + 1} stroke={theme.palette.neutralLight} />
        {buckets.map((b, i) => (
          <g key={b.start.getTime()}>
            <rect x={i * slot + 1} y={height - scale(b.published)} width={barWidth} height={scale(b.published)} fill={published} />
            <rect x={i * slot + 1 + barWidth} y={height - scale(b.failed)} width={barWidth} height={scale(b.failed)} fill={failed} />
          </g>
        ))}
      </svg>
      <figcaption style={{ fontSize: 11, color: theme.palette.neutralSecondary }}>
        <span aria-hidden="true" style={{ color: published }}>■</span> published{' '}
        <span aria-hidden="true" style={{ color: failed }}>■</span> failed, per hour{capped ? ' (first 5,000 rows of each)' : ''}
      </figcaption>
    </figure>
  );
});
HealthChart.displayName = 'HealthChart';
