// The consumer continues the message's trace: an @azure/service-bus sender puts the publisher's context in
// Diagnostic-Id (as the publisher does), the message goes through the Service Bus emulator to a real consumer with a
// SQLite inbox, and the handler runs in the consumer's process span, a child of that context, with the OpenTelemetry SDK
// registered here as an application would (sdk-trace-base, async context); the toolkit uses @opentelemetry/api only.
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { context, SpanKind, trace, type SpanContext } from '@opentelemetry/api';
import { parseAcknowledgement, TraceProperties } from '@dataverse-outbox/contract';

import { createOutboxConsumer, type MessageSettlement, type OutboxConsumer, type OutboxEvent } from '../src/index';
import { CONSUMER_TRACER } from '../src/internal/tracing';
import { sqliteKind, type InboxKind } from './support/inboxKinds';
import { outboxMessage, rowId, startBroker, waitFor, type TestBroker } from './support/serviceBus';
import type Database from 'better-sqlite3';

jest.setTimeout(60_000);

const SEND_CONTEXT = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
let broker: TestBroker;
let kind: InboxKind<Database.Database>;
let consumer: OutboxConsumer | undefined;
const exporter = new InMemorySpanExporter();
const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });

beforeAll(async () => {
  trace.setGlobalTracerProvider(provider);
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  kind = sqliteKind();
  broker = await startBroker([{ name: 'traced', maxDeliveryCount: 10 }, { name: 'traced-acks', maxDeliveryCount: 10 }]);
});
afterAll(async () => {
  await consumer?.close({ timeoutInMs: 10_000 });
  await broker?.close();
  await kind?.cleanup();
  await provider.shutdown();
  trace.disable();
  context.disable();
});

it("runs the inbox transaction and the handler in a child span of the message's context; a message without one has none", async () => {
  const fixture = await kind.fixture();
  const seen: { event: OutboxEvent; active: SpanContext | undefined }[] = [];
  const settlements: MessageSettlement[] = [];
  consumer = createOutboxConsumer({
    serviceBus: broker.client,
    entity: 'traced',
    inbox: fixture.open(),
    // One message per acknowledgement, so each is read in the spec's single form.
    acknowledge: { queue: 'traced-acks', batch: false },
    handler: (event) => void seen.push({ event, active: trace.getActiveSpan()?.spanContext() }),
    onSettled: (s) => settlements.push(s),
  });
  await consumer.start();
  const traced = outboxMessage({ outboxId: rowId('traced-1'), outboxMessageId: 'traced-1', eventType: 'OrderWon', sequence: 1 });
  traced.applicationProperties = { ...traced.applicationProperties, [TraceProperties.diagnosticId]: SEND_CONTEXT, [TraceProperties.traceParent]: SEND_CONTEXT };
  const plain = outboxMessage({ outboxId: rowId('plain-1'), outboxMessageId: 'plain-1', eventType: 'OrderWon', sequence: 2 });
  const sender = broker.client.createSender('traced');
  await sender.sendMessages([traced, plain]);
  await sender.close();
  await waitFor('2 settlements', () => settlements.length >= 2);

  const byId = new Map(seen.map((s) => [s.event.outboxMessageId, s]));
  const tracedSeen = byId.get('traced-1')!;
  expect(tracedSeen.event.traceParent).toBe(SEND_CONTEXT);
  expect(tracedSeen.active?.traceId).toBe('4bf92f3577b34da6a3ce929d0e0e4736');
  const processSpan = exporter.getFinishedSpans().find((s) => s.instrumentationScope.name === CONSUMER_TRACER && s.attributes['outbox.message_id'] === 'traced-1');
  expect(processSpan).toBeDefined();
  expect(processSpan!.kind).toBe(SpanKind.CONSUMER);
  expect(processSpan!.parentSpanContext?.spanId).toBe('00f067aa0ba902b7');
  // The handler ran with the process span active, so its own spans join the trace.
  expect(tracedSeen.active?.spanId).toBe(processSpan!.spanContext().spanId);

  const plainSeen = byId.get('plain-1')!;
  expect(plainSeen.event.traceParent).toBeUndefined();
  expect(plainSeen.active?.traceId).not.toBe('4bf92f3577b34da6a3ce929d0e0e4736');

  // The acknowledgement carries the consumer's process span back: the publisher's ack handling is in the same trace.
  const receiver = broker.client.createReceiver('traced-acks', { receiveMode: 'receiveAndDelete' });
  const acks = await receiver.receiveMessages(10, { maxWaitTimeInMs: 5_000 });
  await receiver.close();
  const parsed = new Map(acks.map((m) => parseAcknowledgement(m.body)).flatMap((r) => ('ack' in r ? [[r.ack.messageId, r.ack] as const] : [])));
  expect(parsed.get('traced-1')?.traceParent).toBe(`00-4bf92f3577b34da6a3ce929d0e0e4736-${processSpan!.spanContext().spanId}-01`);
  // A message without a context: the process span started a trace of its own, which the ack names.
  expect(parsed.get('plain-1')?.traceParent).toMatch(new RegExp(`^00-${plainSeen.active!.traceId}-`));
});
