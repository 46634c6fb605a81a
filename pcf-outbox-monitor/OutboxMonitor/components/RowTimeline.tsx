import { useTheme } from '@fluentui/react';
import * as React from 'react';
import { formatDuration, formatUtc } from '../core/format';
import type { StepState, Timeline, TimelineStep } from '../core/timeline';

export interface RowTimelineProps {
  timeline: Timeline;
}

const stateText: Readonly<Record<StepState, string>> = { done: '', pending: 'pending', never: 'not reached', unknown: 'time unknown' };

function durationText(step: TimelineStep): string {
  if (step.skew) return 'clock skew';
  if (step.seconds === undefined) return '—';
  const text = step.seconds < 1 ? '< 1 s' : formatDuration(step.seconds);
  return step.running ? `${text} so far` : text;
}

/**
 * Where a row's time went: a bar of the durations between its steps, in proportion (the longest wait is the widest and
 * its row is bold), and the steps with their times. Every value is a React text child: nothing from the row is HTML.
 */
export const RowTimeline = React.memo(function RowTimeline({ timeline }: RowTimelineProps): React.ReactElement {
  const p = useTheme().palette;
  // One colour per step position, shared by the bar and the table's swatches (a step with no segment has none); all
  // from the active theme.
  const colors = [p.neutralTertiary, p.themePrimary, p.teal, p.green, p.magenta, p.orange];
  const colorOf = (i: number): string => colors[i % colors.length] ?? p.themePrimary;
  const timed = timeline.steps.map((step, i) => ({ step, i, seconds: step.seconds ?? 0 })).filter((s) => s.seconds > 0);
  const longest = timed.reduce<(typeof timed)[number] | undefined>((a, b) => (a && a.seconds >= b.seconds ? a : b), undefined);
  const cell: React.CSSProperties = { padding: '2px 8px 2px 0', verticalAlign: 'top' };
  const skewCell = Object.assign({ color: p.redDark }, cell);

  return (
    <section aria-label="Timeline" style={{ display: 'flex', flexDirection: 'column', gap: 6, fontSize: 12, color: p.neutralPrimary }}>
      <h3 style={{ margin: 0, fontSize: 14 }}>Timeline</h3>
      {timed.length > 0 ? (
        <div
          role="img"
          aria-label={`Where the time went: ${timed.map((s) => `${s.step.label} ${durationText(s.step)}`).join(', ')}`}
          style={{ display: 'flex', height: 12, background: p.neutralLighter }}
        >
          {timed.map((s) => (
            <div key={s.i} data-segment={s.step.label} title={`${s.step.label}: ${durationText(s.step)}`} style={{ flex: `${s.seconds} 1 0`, minWidth: 3, background: colorOf(s.i), opacity: s.step.running ? 0.5 : 1 }} />
          ))}
        </div>
      ) : null}
      <table style={{ borderCollapse: 'collapse' }}>
        <thead>
          <tr style={{ textAlign: 'left', color: p.neutralSecondary }}>
            <th style={cell}>Step</th>
            <th style={cell}>Time (UTC)</th>
            <th style={cell}>Took</th>
          </tr>
        </thead>
        <tbody>
          {timeline.steps.map((step, i) => (
            <tr key={i} data-step={step.label} data-state={step.state} style={{ fontWeight: longest?.i === i ? 600 : undefined, color: step.state === 'done' ? undefined : p.neutralSecondary }}>
              <td style={cell}>
                <span aria-hidden="true" style={{ color: step.seconds ? colorOf(i) : 'transparent' }}>
                  ■{' '}
                </span>
                {step.label}
                {step.detail ? <div style={{ fontWeight: 400, color: p.neutralSecondary }}>{step.detail}</div> : null}
              </td>
              <td style={cell}>{[step.at ? formatUtc(step.at) : '', stateText[step.state]].filter(Boolean).join(' · ')}</td>
              <td style={step.skew ? skewCell : cell}>{durationText(step)}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {timeline.note ? <div style={{ color: p.neutralSecondary }}>{timeline.note}</div> : null}
      {timeline.traceId ? (
        <div>
          Trace id: <code style={{ userSelect: 'all' }}>{timeline.traceId}</code>
        </div>
      ) : null}
    </section>
  );
});
RowTimeline.displayName = 'RowTimeline';
