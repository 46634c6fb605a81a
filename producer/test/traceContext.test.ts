// OutboxWriter stores the commit's W3C trace context in obx_tracecontext, through the Dataverse emulator over a real
// socket: the caller's current context (its traceParent option), a message's own traceParent, or a new trace per
// transaction; every row of one transaction without its own names the same commit context.
import { startDataverseEmulator, type DataverseEmulator } from '@dataverse-outbox/emulators/dataverse';
import { OutboxMessage, parseTraceParent } from '@dataverse-outbox/contract';
import { DataverseClient } from '@dataverse-outbox/web-api';
import { context, propagation, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { OutboxRowError, OutboxWriter, PRODUCER_TRACER } from '../src';

const SET = OutboxMessage.entitySetName;
const C = OutboxMessage.columns;
const CALLER = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
const OWN = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00';
let dv: DataverseEmulator;
let client: DataverseClient;

beforeAll(async () => {
  dv = await startDataverseEmulator({ port: 0 });
  client = new DataverseClient(dv.url, { token: 'producer-trace' });
});
afterAll(async () => {
  await client.close();
  await dv.close();
});

async function storedContexts(messageIds: readonly string[]): Promise<unknown[]> {
  return Promise.all(messageIds.map(async (id) => (await client.retrieveMultiple(SET, { filter: `${C.messageId} eq '${id}'` })).value[0]?.[C.traceContext]));
}

describe('obx_tracecontext written by OutboxWriter', () => {
  it("the caller's current context for every row without one; a message's own traceParent wins", async () => {
    let asked = 0;
    const writer = new OutboxWriter(client, { traceParent: () => (asked++, CALLER) });
    const { messageIds } = await writer.transaction((tx) => {
      tx.enqueue({ target: 'orders', payload: 1, messageId: 'tc-caller-1' });
      tx.enqueue({ target: 'orders', payload: 2 });
      tx.enqueue({ target: 'orders', payload: 3, messageId: 'tc-own', traceParent: OWN });
    });
    expect(await storedContexts(messageIds)).toEqual([CALLER, CALLER, OWN]);
    expect(asked).toBe(1);
  });

  it('a new trace per transaction without a caller context (or with an invalid one): one per commit, each valid', async () => {
    const writer = new OutboxWriter(client, { traceParent: () => 'not a traceparent' });
    const first = await writer.transaction((tx) => {
      tx.enqueue({ target: 'orders', payload: 1 });
      tx.enqueue({ target: 'orders', payload: 2 });
    });
    const second = await new OutboxWriter(client).transaction((tx) => void tx.enqueue({ target: 'orders', payload: 3 }));
    const [a, b] = await storedContexts(first.messageIds);
    const [c] = await storedContexts(second.messageIds);
    expect(parseTraceParent(a)).toBeDefined();
    expect(b).toBe(a);
    expect(parseTraceParent(c)).toBeDefined();
    expect(parseTraceParent(c)!.traceId).not.toBe(parseTraceParent(a)!.traceId);
  });

  it("a message's hostile traceParent is refused before anything is sent", async () => {
    const writer = new OutboxWriter(client);
    await expect(writer.transaction((tx) => void tx.enqueue({ target: 'orders', payload: 1, traceParent: `${CALLER}\r\nx: y` }))).rejects.toMatchObject({
      name: OutboxRowError.name,
      code: 'InvalidField',
      field: 'traceParent',
    });
  });
});

describe('with an OpenTelemetry SDK registered (the default traceParent)', () => {
  const exporter = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
  beforeAll(() => {
    trace.setGlobalTracerProvider(provider);
    context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  });
  afterAll(async () => {
    await provider.shutdown();
    trace.disable();
    propagation.disable();
    context.disable();
  });
  beforeEach(() => exporter.reset());
  const writerSpans = () => exporter.getFinishedSpans().filter((s) => s.instrumentationScope.name === PRODUCER_TRACER);

  it("every row of a commit names the writer's span, a child of the caller's active span", async () => {
    const caller = trace.getTracer('app').startSpan('place order');
    const { messageIds } = await context.with(trace.setSpan(context.active(), caller), () =>
      new OutboxWriter(client).transaction((tx) => {
        tx.enqueue({ target: 'orders', payload: 1 });
        tx.enqueue({ target: 'orders', payload: 2 });
      }),
    );
    caller.end();
    const [span] = writerSpans();
    expect(writerSpans()).toHaveLength(1);
    expect(span!.name).toBe('outbox transaction');
    expect(span!.kind).toBe(SpanKind.PRODUCER);
    expect(span!.parentSpanContext?.spanId).toBe(caller.spanContext().spanId);
    expect(span!.spanContext().traceId).toBe(caller.spanContext().traceId);
    expect(span!.attributes['messaging.batch.message_count']).toBe(2);
    const expected = `00-${span!.spanContext().traceId}-${span!.spanContext().spanId}-01`;
    expect(await storedContexts(messageIds)).toEqual([expected, expected]);
  });

  it('without an active span the writer\'s span starts the trace; an explicit traceParent option is used instead of it', async () => {
    const { messageIds } = await new OutboxWriter(client).transaction((tx) => void tx.enqueue({ target: 'orders', payload: 1 }));
    const [span] = writerSpans();
    expect(span!.parentSpanContext).toBeUndefined();
    expect(await storedContexts(messageIds)).toEqual([`00-${span!.spanContext().traceId}-${span!.spanContext().spanId}-01`]);
    exporter.reset();
    const explicit = await new OutboxWriter(client, { traceParent: () => CALLER }).transaction((tx) => void tx.enqueue({ target: 'orders', payload: 2 }));
    expect(writerSpans()).toHaveLength(0);
    expect(await storedContexts(explicit.messageIds)).toEqual([CALLER]);
  });

  it('a failed commit ends its span with an error; a transaction without messages records none', async () => {
    await expect(new OutboxWriter(client).transaction((tx) => {
      tx.enqueue({ target: 'orders', payload: 1 });
      tx.update('opportunities', '00000000-0000-0000-0000-0000000000aa', { name: 'gone' });
    })).rejects.toThrow();
    expect(writerSpans().map((s) => s.status.code)).toEqual([SpanStatusCode.ERROR]);
    exporter.reset();
    await new OutboxWriter(client).transaction((tx) => void tx.update('opportunities', '00000000-0000-0000-0000-0000000000ab', { name: 'x' }, { ifMatch: '*' })).catch(() => undefined);
    expect(writerSpans()).toHaveLength(0);
  });
});
