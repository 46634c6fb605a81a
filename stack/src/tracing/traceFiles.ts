// Reading the local stack's trace files back: every component's spans, one trace picked by trace id, outbox row id or
// message id, and the trace as a waterfall an operator reads at a glance (where did the time go?).
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { normaliseGuid } from '@dataverse-outbox/contract';
import { parseSpanRecord, type SpanRecord } from './spanRecord';

/** Every whole span in the folder's `*.jsonl` files (torn or foreign lines skipped). */
export function readSpanFiles(dir: string): SpanRecord[] {
  if (!existsSync(dir)) return [];
  const spans: SpanRecord[] = [];
  for (const name of readdirSync(dir).filter((n) => n.endsWith('.jsonl')).sort()) {
    for (const line of readFileSync(path.join(dir, name), 'utf8').split('\n')) {
      const span = line ? parseSpanRecord(line) : undefined;
      if (span) spans.push(span);
    }
  }
  return spans;
}

const TRACE_ID = /^[0-9a-f]{32}$/;

/**
 * The trace ids a query names: a trace id as it is; an outbox row id (GUID, any case or braces) or a message id through
 * the spans that carry it (`outbox.row_id`, `messaging.message.id`; a replay's message id `<id>#r<n>` counts as its row's).
 */
export function traceIdsFor(spans: readonly SpanRecord[], query: string): string[] {
  const q = query.trim();
  if (TRACE_ID.test(q.toLowerCase())) return [q.toLowerCase()];
  const rowId = normaliseGuid(q);
  const ids = new Set<string>();
  for (const s of spans) {
    const row = s.attributes['outbox.row_id'];
    const message = s.attributes['messaging.message.id'];
    const messageBase = typeof message === 'string' ? message.replace(/#r\d+$/, '') : undefined;
    if ((rowId !== undefined && row === rowId) || message === q || messageBase === q) ids.add(s.traceId);
  }
  return [...ids];
}

/** The spans of one trace, plus spans of other traces that link to it (an acknowledgement from a consumer's own trace). */
export function spansOfTrace(spans: readonly SpanRecord[], traceId: string): SpanRecord[] {
  return spans.filter((s) => s.traceId === traceId || s.links.some((l) => l.traceId === traceId)).sort((a, b) => a.startMs - b.startMs);
}

/** Depth-first by parent, children by start time; spans whose parent is not in the list start at the top level. */
function treeOrder(spans: readonly SpanRecord[]): { span: SpanRecord; depth: number }[] {
  const ids = new Set(spans.map((s) => s.spanId));
  const children = new Map<string, SpanRecord[]>();
  const roots: SpanRecord[] = [];
  for (const s of spans) {
    if (s.parentSpanId && ids.has(s.parentSpanId) && s.parentSpanId !== s.spanId) children.set(s.parentSpanId, [...(children.get(s.parentSpanId) ?? []), s]);
    else roots.push(s);
  }
  const out: { span: SpanRecord; depth: number }[] = [];
  const seen = new Set<string>();
  const visit = (s: SpanRecord, depth: number): void => {
    if (seen.has(s.spanId)) return;
    seen.add(s.spanId);
    out.push({ span: s, depth });
    for (const c of (children.get(s.spanId) ?? []).sort((a, b) => a.startMs - b.startMs)) visit(c, depth + 1);
  };
  for (const r of roots) visit(r, 0);
  return out;
}

const ms = (v: number): string => (v >= 10_000 ? `${(v / 1000).toFixed(1)} s` : `${Math.round(v)} ms`);

/** The trace as text: one line per span, offset from the trace's start, duration, a bar on a common time axis. */
export function renderWaterfall(spans: readonly SpanRecord[], width = 40): string {
  if (spans.length === 0) return '(no spans)';
  const start = Math.min(...spans.map((s) => s.startMs));
  const end = Math.max(...spans.map((s) => s.startMs + s.durationMs));
  const total = Math.max(end - start, 1);
  const rows = treeOrder(spans).map(({ span, depth }) => {
    const from = Math.floor(((span.startMs - start) / total) * width);
    const len = Math.max(1, Math.round((span.durationMs / total) * width));
    const bar = `${' '.repeat(from)}${'█'.repeat(Math.min(len, width - from))}`.padEnd(width);
    const label = `${'  '.repeat(depth)}${span.name}${span.status === 'error' ? ' (error)' : ''}`;
    return [`+${ms(span.startMs - start)}`, ms(span.durationMs), span.service, label, bar];
  });
  const widths = [0, 1, 2, 3].map((i) => Math.max(...rows.map((r) => r[i]!.length), ['start', 'took', 'service', 'span'][i]!.length));
  const line = (cells: string[]): string => cells.map((c, i) => (i < 4 ? c.padEnd(widths[i]!) : c)).join('  ');
  return [line(['start', 'took', 'service', 'span', 'timeline']), ...rows.map(line)].join('\n');
}
