// Reading the stack's span files back (`npm run trace`): torn and foreign lines are skipped, a trace is found by row id
// (any GUID spelling), message id (a replay's `#r<n>` counts as its row's) or trace id, spans that link to a trace are
// part of it, and the waterfall lists parents before children on one time axis.
import { existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { BasicTracerProvider, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { FileSpanExporter, previousSpanFile } from '../src/tracing/fileSpanExporter';
import type { SpanRecord } from '../src/tracing/spanRecord';
import { readSpanFiles, renderWaterfall, spansOfTrace, traceIdsFor } from '../src/tracing/traceFiles';

const T1 = '4bf92f3577b34da6a3ce929d0e0e4736';
const T2 = '0af7651916cd43dd8448eb211c80319c';
const ROW = '7f3c2a10-0b1e-4c3d-9e8f-0123456789ab';

const span = (over: Partial<SpanRecord> & Pick<SpanRecord, 'spanId' | 'name'>): SpanRecord => ({
  traceId: T1,
  kind: 'INTERNAL',
  service: 'publisher',
  startMs: 1_000,
  durationMs: 10,
  status: 'unset',
  attributes: {},
  links: [],
  ...over,
});

const producer = span({ spanId: '00f067aa0ba902b7', name: 'win opportunity', service: 'demo-producer', startMs: 1_000, durationMs: 20 });
const send = span({ spanId: '1111111111111111', parentSpanId: producer.spanId, name: 'send erp-sales', kind: 'PRODUCER', startMs: 1_100, attributes: { 'outbox.row_id': ROW, 'messaging.message.id': 'SalesOrderWon:1' } });
const processSpan = span({ spanId: '2222222222222222', parentSpanId: send.spanId, name: 'process SalesOrderWon', service: 'consumer', kind: 'CONSUMER', startMs: 1_150, durationMs: 40 });
const replay = span({ spanId: '3333333333333333', parentSpanId: producer.spanId, name: 'send erp-sales', kind: 'PRODUCER', startMs: 9_000, attributes: { 'outbox.row_id': ROW, 'messaging.message.id': 'SalesOrderWon:1#r1', 'outbox.replay': 1 } });
const foreignAck = span({ traceId: T2, spanId: '4444444444444444', name: 'apply acknowledgement', startMs: 1_300, links: [{ traceId: T1, spanId: producer.spanId }] });
const other = span({ traceId: T2, spanId: '5555555555555555', name: 'send invoices', attributes: { 'messaging.message.id': 'Invoice:9' } });

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'trace-files-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

test('reads every whole span of every component file; torn, foreign and invalid lines are skipped', () => {
  const lines = (spans: SpanRecord[]): string => spans.map((s) => JSON.stringify(s)).join('\n');
  writeFileSync(path.join(dir, 'demo-producer.jsonl'), `${lines([producer])}\n`);
  // A component killed mid-write leaves half a line; a foreign file and bad ids must not be taken for spans.
  writeFileSync(path.join(dir, 'publisher.jsonl'), `${lines([send, replay, foreignAck, other])}\n${JSON.stringify(send).slice(0, 40)}`);
  writeFileSync(path.join(dir, 'consumer.jsonl'), `${lines([processSpan])}\nnot json\n[1,2]\nnull\n${JSON.stringify({ ...send, traceId: 'X'.repeat(32) })}\n${JSON.stringify({ ...send, parentSpanId: '<script>' })}\n`);
  writeFileSync(path.join(dir, 'notes.txt'), `${lines([other])}\n`);
  const spans = readSpanFiles(dir);
  expect(spans.map((s) => s.spanId).sort()).toEqual([producer, send, processSpan, replay, foreignAck, other].map((s) => s.spanId).sort());
  expect(readSpanFiles(path.join(dir, 'missing'))).toEqual([]);
});

test('finds a trace by row id in any spelling, by message id (a replay counts as its row), or by trace id', () => {
  const spans = [producer, send, processSpan, replay, foreignAck, other];
  for (const q of [ROW, ROW.toUpperCase(), `{${ROW}}`, ` ${ROW} `, 'SalesOrderWon:1', 'SalesOrderWon:1#r1', T1, T1.toUpperCase()]) expect(traceIdsFor(spans, q)).toEqual([T1]);
  expect(traceIdsFor(spans, 'Invoice:9')).toEqual([T2]);
  for (const q of ['', 'nothing', '<script>alert(1)</script>', 'x'.repeat(100_000), '00000000-0000-0000-0000-000000000000']) expect(traceIdsFor(spans, q)).toEqual([]);
});

test("a trace holds its own spans and those that link to it, in time order", () => {
  const trace = spansOfTrace([replay, other, foreignAck, processSpan, send, producer], T1);
  expect(trace.map((s) => s.spanId)).toEqual([producer, send, processSpan, foreignAck, replay].map((s) => s.spanId));
});

test('the waterfall lists each parent before its children, indented, with offsets on one time axis', () => {
  const text = renderWaterfall(spansOfTrace([producer, send, processSpan, replay, foreignAck], T1), 20);
  const lines = text.split('\n');
  expect(lines[0]).toMatch(/^start\s+took\s+service\s+span\s+timeline$/);
  const [from, to] = [lines[0]!.indexOf('span'), lines[0]!.indexOf('timeline')];
  const names = lines.slice(1).map((l) => l.slice(from, to).trimEnd());
  expect(names).toEqual(['win opportunity', '  send erp-sales', '    process SalesOrderWon', '  send erp-sales', 'apply acknowledgement']);
  expect(lines[1]).toMatch(/^\+0 ms\s+20 ms\s+demo-producer/);
  // The replay 8 s later sits at the end of the axis; the first spans at its start.
  expect(lines[4]!.endsWith('█')).toBe(true);
  expect(lines[1]!.trimEnd().endsWith('█')).toBe(true);
  expect(lines[1]!.indexOf('█')).toBeLessThan(lines[4]!.indexOf('█'));
  expect(renderWaterfall([])).toBe('(no spans)');
});

test('a span file past its size is set aside once (the previous one replaced), and both are still read', () => {
  const file = path.join(dir, 'publisher.jsonl');
  const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(new FileSpanExporter(file, 'publisher', 4_000))] });
  const tracer = provider.getTracer('test');
  for (let i = 0; i < 100; i++) tracer.startSpan(`span ${i}`, { attributes: { i } }).end();
  expect(previousSpanFile(file)).toBe(path.join(dir, 'publisher.previous.jsonl'));
  expect(existsSync(previousSpanFile(file))).toBe(true);
  // Each file stops growing at the first write past the limit: at most the limit plus one line.
  for (const f of [file, previousSpanFile(file)]) expect(statSync(f).size).toBeLessThan(4_000 + 1_000);
  const names = readSpanFiles(dir).map((s) => s.name);
  // The newest spans are kept, the oldest gone: what two files hold, in order.
  expect(names.length).toBeGreaterThan(10);
  expect(names.length).toBeLessThan(100);
  expect(names).toContain('span 99');
  expect(names).not.toContain('span 0');
});
