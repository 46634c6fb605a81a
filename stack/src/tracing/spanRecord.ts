// One finished span as the local stack keeps it: a line of JSON in `<data>/traces/<component>.jsonl`, written by the
// components' trace recorder and read by `npm run trace` and the end-to-end trace test. Plain data (no SDK types), so
// the reader can refuse a torn or foreign line on its own.
import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';

export type SpanKindName = 'INTERNAL' | 'SERVER' | 'CLIENT' | 'PRODUCER' | 'CONSUMER';
export type AttributeValue = string | number | boolean;

export interface SpanRecord {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: SpanKindName;
  /** The component's service.name (publisher, consumer, demo producer...). */
  service: string;
  /** Milliseconds since the epoch, with sub-millisecond precision. */
  startMs: number;
  durationMs: number;
  status: 'unset' | 'ok' | 'error';
  statusMessage?: string;
  attributes: Record<string, AttributeValue>;
  links: { traceId: string; spanId: string }[];
}

const kindNames: Record<SpanKind, SpanKindName> = {
  [SpanKind.INTERNAL]: 'INTERNAL',
  [SpanKind.SERVER]: 'SERVER',
  [SpanKind.CLIENT]: 'CLIENT',
  [SpanKind.PRODUCER]: 'PRODUCER',
  [SpanKind.CONSUMER]: 'CONSUMER',
};

const hrToMs = ([s, ns]: readonly [number, number]): number => s * 1_000 + ns / 1e6;

function plainAttributes(attributes: ReadableSpan['attributes']): Record<string, AttributeValue> {
  const out: Record<string, AttributeValue> = {};
  for (const [k, v] of Object.entries(attributes)) {
    if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') out[k] = v;
    else if (Array.isArray(v)) out[k] = v.join(',');
  }
  return out;
}

export function toSpanRecord(span: ReadableSpan, service: string): SpanRecord {
  const ctx = span.spanContext();
  const parent = span.parentSpanContext?.spanId;
  return {
    traceId: ctx.traceId,
    spanId: ctx.spanId,
    ...(parent ? { parentSpanId: parent } : {}),
    name: span.name,
    kind: kindNames[span.kind] ?? 'INTERNAL',
    service,
    startMs: hrToMs(span.startTime),
    durationMs: hrToMs(span.duration),
    status: span.status.code === SpanStatusCode.ERROR ? 'error' : span.status.code === SpanStatusCode.OK ? 'ok' : 'unset',
    ...(span.status.message ? { statusMessage: span.status.message } : {}),
    attributes: plainAttributes(span.attributes),
    links: span.links.map((l) => ({ traceId: l.context.traceId, spanId: l.context.spanId })),
  };
}

const HEX32 = /^[0-9a-f]{32}$/;
const HEX16 = /^[0-9a-f]{16}$/;

/** A line read back, or undefined for anything that is not a whole record (a line torn by a kill, a foreign file). */
export function parseSpanRecord(line: string): SpanRecord | undefined {
  let v: unknown;
  try {
    v = JSON.parse(line);
  } catch {
    return undefined;
  }
  if (typeof v !== 'object' || v === null) return undefined;
  const r = v as Partial<SpanRecord>;
  if (typeof r.traceId !== 'string' || !HEX32.test(r.traceId) || typeof r.spanId !== 'string' || !HEX16.test(r.spanId)) return undefined;
  if (r.parentSpanId !== undefined && (typeof r.parentSpanId !== 'string' || !HEX16.test(r.parentSpanId))) return undefined;
  if (typeof r.name !== 'string' || typeof r.service !== 'string' || typeof r.startMs !== 'number' || typeof r.durationMs !== 'number') return undefined;
  if (typeof r.attributes !== 'object' || r.attributes === null || !Array.isArray(r.links)) return undefined;
  return r as SpanRecord;
}
