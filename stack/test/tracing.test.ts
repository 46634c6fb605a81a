// Issue 21, trace acceptance: through the local stack's real processes (both emulators, the publisher worker, the ERP
// consumer), one committed row yields one trace: the producer's spans (the demo producer, in this process: its own and
// the writer's `outbox transaction`, whose context the row stores), the
// publisher's send, the consumer's processing and the publisher's "apply acknowledgement" share the trace id the row's
// obx_tracecontext names, each the child of the one before. The spans are read back from the files the components
// wrote (`<data>/traces/`, the stack's recorder), as `npm run trace` reads them; a replayed row's new send joins the
// same trace with the replay count.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { OutboxMessage, OutboxStatus, parseTraceParent } from '@dataverse-outbox/contract';
import { repoRoot, runDemoProducer, startStack, type LocalStack } from '@dataverse-outbox/stack';
import { registerTraceRecorder, type TraceRecorder } from '../src/tracing/recorder';
import type { SpanRecord } from '../src/tracing/spanRecord';
import { readSpanFiles, spansOfTrace } from '../src/tracing/traceFiles';

jest.setTimeout(240_000);

let stack: LocalStack | undefined;
let recorder: TraceRecorder | undefined;
const dir = mkdtempSync(path.join(os.tmpdir(), 'stack-trace-'));
const dataDir = path.join(dir, 'data');
const tracesDir = path.join(dataDir, 'traces');

afterAll(async () => {
  await recorder?.close();
  await stack?.stop().catch(() => undefined);
  rmSync(dir, { recursive: true, force: true });
});

async function eventually<T>(what: string, check: () => Promise<T | undefined> | T | undefined, timeoutMs = 60_000): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v !== undefined) return v;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** A node script from the repository, as an operator runs it (from source). */
function run(script: string, args: string[], env: Record<string, string> = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, ['--conditions=development', '--import', 'tsx', path.join(repoRoot, script), ...args], {
    cwd: repoRoot,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve) => child.once('close', (code) => resolve({ code, stdout, stderr })));
}

const one = (spans: SpanRecord[], what: string, match: (s: SpanRecord) => boolean): SpanRecord | undefined => {
  const found = spans.filter(match);
  if (found.length > 1) throw new Error(`more than one ${what}: ${JSON.stringify(found)}`);
  return found[0];
};

test("one committed row, one trace: producer -> send -> consumer -> acknowledgement; a replay's send joins it", async () => {
  stack = await startStack({ dataDir, components: ['dataverse', 'servicebus', 'publisher', 'consumer'] });
  // This process is the producer: its spans go beside the components' (what `npm run demo` does).
  recorder = registerTraceRecorder({ file: path.join(tracesDir, 'test-producer.jsonl'), serviceName: 'demo-producer' });
  const client = stack.dataverseClient();
  const produced = await runDemoProducer({ client, orders: 1, rate: 10, badPerKind: 0 });
  const messageId = produced.orders[0]!.messageId;

  const c = OutboxMessage.columns;
  const row = await eventually('the row to be Acked', async () => {
    const page = await client.retrieveMultiple(OutboxMessage.entitySetName, { select: [c.id, c.status, c.traceContext], filter: `${c.messageId} eq '${messageId}'` });
    const r = page.value[0];
    return r && r[c.status] === OutboxStatus.Acked ? r : undefined;
  });
  const rowId = String(row[c.id]);
  const commit = parseTraceParent(row[c.traceContext]);
  expect(commit).toBeDefined();

  const spans = await eventually('all four spans', () => {
    const trace = spansOfTrace(readSpanFiles(tracesDir), commit!.traceId);
    const win = one(trace, 'application span', (s) => s.name === 'win opportunity');
    const producer = one(trace, "writer's span", (s) => s.name === 'outbox transaction');
    const send = one(trace, 'send span', (s) => s.service === 'publisher' && s.kind === 'PRODUCER');
    const consumer = one(trace, 'consumer span', (s) => s.service === 'consumer' && s.kind === 'CONSUMER');
    const ack = one(trace, 'ack span', (s) => s.service === 'publisher' && s.name === 'apply acknowledgement');
    return win && producer && send && consumer && ack ? { win, producer, send, consumer, ack, trace } : undefined;
  });
  const { win, producer, send, consumer, ack } = spans;
  // The row's column names the writer's span (a child of the application's); everything after it is in that trace, each
  // a child of the one before.
  expect(producer.parentSpanId).toBe(win.spanId);
  expect(producer.kind).toBe('PRODUCER');
  expect(row[c.traceContext]).toBe(`00-${producer.traceId}-${producer.spanId}-01`);
  for (const s of [win, producer, send, consumer, ack]) expect(s.traceId).toBe(commit!.traceId);
  expect(send.parentSpanId).toBe(producer.spanId);
  expect(consumer.parentSpanId).toBe(send.spanId);
  expect(ack.parentSpanId).toBe(consumer.spanId);
  expect(send.attributes).toMatchObject({ 'outbox.row_id': rowId, 'messaging.message.id': messageId, 'messaging.destination.name': 'erp-sales' });
  expect(send.attributes).not.toHaveProperty('outbox.replay');
  expect(consumer.attributes).toMatchObject({ 'outbox.row_id': rowId, 'outbox.message_id': messageId });
  expect(ack.attributes).toMatchObject({ 'outbox.row_id': rowId, 'outbox.ack.result': 'applied' });
  // Time runs forward along the chain (one machine, one clock).
  expect(send.startMs).toBeGreaterThanOrEqual(producer.startMs);
  expect(consumer.startMs).toBeGreaterThanOrEqual(send.startMs);
  expect(ack.startMs).toBeGreaterThanOrEqual(consumer.startMs);

  // What an operator sees: `npm run trace -- <row id>` finds the trace and shows the four spans in order.
  const shown = await run('stack/src/cli/trace.ts', [rowId, '--data-dir', dataDir]);
  expect(shown).toMatchObject({ code: 0, stderr: '' });
  expect(shown.stdout).toContain(`Trace ${commit!.traceId}`);
  process.stdout.write(`npm run trace -- ${rowId}\n${shown.stdout}`);
  const order = ['win opportunity', 'outbox transaction', 'send erp-sales', 'process SalesOrderWon', 'apply acknowledgement'].map((name) => shown.stdout.indexOf(name));
  expect(order.every((i) => i > 0)).toBe(true);
  expect([...order].sort((a, b) => a - b)).toEqual(order);

  // The operator replays the row: its new send is a new span of the same trace, under the commit, with the count.
  const replay = await run('publisher-function/src/cli.ts', ['replay', rowId], { DATAVERSE_URL: stack.urls.dataverse, DATAVERSE_TOKEN: stack.dataverseToken });
  expect({ code: replay.code, stderr: replay.stderr }).toEqual({ code: 0, stderr: '' });
  const resent = await eventually('the replay send span', () =>
    spansOfTrace(readSpanFiles(tracesDir), commit!.traceId).find((s) => s.service === 'publisher' && s.kind === 'PRODUCER' && s.attributes['outbox.replay'] === 1),
  );
  expect(resent.spanId).not.toBe(send.spanId);
  expect(resent.parentSpanId).toBe(producer.spanId);
  expect(resent.attributes).toMatchObject({ 'outbox.row_id': rowId, 'messaging.message.id': `${messageId}#r1` });
  await client.close();
});
