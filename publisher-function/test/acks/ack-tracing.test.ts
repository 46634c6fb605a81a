// The acknowledgement's write to Dataverse is the last span of a row's trace: the ack listener, over both emulators on
// real sockets, records "apply acknowledgement" as a child of the consumer's span the ack carries (traceParent), or of
// the row's own context when the consumer sent none, with the row's context as a link when the two traces differ.
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import { formatTraceParent, newTraceParent, OutboxStatus, parseTraceParent, toAcknowledgementMessages, type Acknowledgement } from '@dataverse-outbox/contract';
import { randomBytes } from 'node:crypto';
import { AckListener } from '../../src';
import { ACK_RESULT_ATTRIBUTE } from '../../src/core/ackTracing';
import { PUBLISHER_TRACER } from '../../src/core/tracing';
import { publishedRows, type PublishedRow } from '../support/acks';
import { ACK_QUEUE, eventually, type Harness, useHarness } from '../support/harness';
import { TestTracing } from '../support/tracing';

let h: Harness;
useHarness((started) => (h = started));

const tracing = new TestTracing();
const exporter = tracing.exporter;
beforeAll(tracing.register);
afterAll(tracing.unregister);

const random = (n: number): Uint8Array => randomBytes(n);
const ackOf = (r: PublishedRow, traceParent?: string): Acknowledgement => ({ outboxId: r.id, messageId: r.messageId, outcome: 'processed', processedAt: new Date(), ...(traceParent ? { traceParent } : {}) });

async function rowContext(r: PublishedRow): Promise<{ traceId: string; spanId: string }> {
  const [row] = await h.store.readByIds([r.id]);
  const parsed = parseTraceParent(row!.traceContext);
  if (!parsed) throw new Error(`row ${r.id} has no trace context`);
  return parsed;
}

/** Sends the acks as the consumer toolkit does (batched), lets the real listener apply them, returns each row's ack span. */
async function applyThroughListener(acks: Acknowledgement[], awaitAcked: readonly string[]): Promise<Map<string, ReadableSpan>> {
  exporter.reset();
  const sender = h.serviceBus.createSender(ACK_QUEUE);
  try {
    await sender.sendMessages(toAcknowledgementMessages(acks));
  } finally {
    await sender.close();
  }
  const listener = new AckListener(h.serviceBus, h.store, ACK_QUEUE, { maxMessageCount: 50, maxWaitTimeInMs: 200 });
  listener.start();
  try {
    await eventually(async () => (await h.store.readByIds(awaitAcked)).every((r) => r.status === OutboxStatus.Acked), 'rows acked');
    await eventually(async () => exporter.getFinishedSpans().filter((s) => s.name === 'apply acknowledgement').length >= acks.length, 'ack spans ended');
  } finally {
    await listener.close();
  }
  const spans = tracing.spansOf(PUBLISHER_TRACER).filter((s) => s.name === 'apply acknowledgement');
  return new Map(spans.map((s) => [String(s.attributes['outbox.row_id']), s]));
}

it("is a child of the consumer's span the ack carries, in the row's trace", async () => {
  const [row] = await publishedRows(h, 'at-child', 1);
  const commit = await rowContext(row!);
  const consumerSpan = newTraceParent({ ...commit, flags: 1 }, random);
  const spans = await applyThroughListener([ackOf(row!, formatTraceParent(consumerSpan))], [row!.id]);
  const span = spans.get(row!.id)!;
  expect(span).toBeDefined();
  expect(span.kind).toBe(SpanKind.CONSUMER);
  expect(span.spanContext().traceId).toBe(commit.traceId);
  expect(span.parentSpanContext?.spanId).toBe(consumerSpan.spanId);
  expect(span.links).toEqual([]);
  expect(span.attributes).toMatchObject({ [ACK_RESULT_ATTRIBUTE]: 'applied', 'messaging.message.id': row!.messageId, 'outbox.ack.outcome': 'processed' });
  expect(span.status.code).not.toBe(SpanStatusCode.ERROR);
});

it("an ack without a context (an older consumer) joins the row's trace under the commit's span", async () => {
  const [row] = await publishedRows(h, 'at-none', 1);
  const commit = await rowContext(row!);
  const span = (await applyThroughListener([ackOf(row!)], [row!.id])).get(row!.id)!;
  expect(span.spanContext().traceId).toBe(commit.traceId);
  expect(span.parentSpanContext?.spanId).toBe(commit.spanId);
});

it("an ack from another trace stays in the consumer's trace and links the row's", async () => {
  const [row] = await publishedRows(h, 'at-link', 1);
  const commit = await rowContext(row!);
  const foreign = newTraceParent(undefined, random);
  const span = (await applyThroughListener([ackOf(row!, formatTraceParent(foreign))], [row!.id])).get(row!.id)!;
  expect(span.spanContext().traceId).toBe(foreign.traceId);
  expect(span.parentSpanContext?.spanId).toBe(foreign.spanId);
  expect(span.links.map((l) => [l.context.traceId, l.context.spanId])).toEqual([[commit.traceId, commit.spanId]]);
});

it('every ack of a batch gets its own span; one for a row that is gone ends with its result, the others are unaffected', async () => {
  const rows = await publishedRows(h, 'at-batch', 3);
  const gone = { id: '7f3c2a10-0b1e-4c3d-9e8f-0123456789ab', messageId: 'gone' };
  const spans = await applyThroughListener([...rows, gone].map((r) => ackOf(r)), rows.map((r) => r.id));
  expect(spans.size).toBe(4);
  for (const r of rows) {
    expect(spans.get(r.id)!.spanContext().traceId).toBe((await rowContext(r)).traceId);
    expect(spans.get(r.id)!.attributes[ACK_RESULT_ATTRIBUTE]).toBe('applied');
  }
  expect(spans.get(gone.id)!.attributes[ACK_RESULT_ATTRIBUTE]).toBe('not-found');
});
