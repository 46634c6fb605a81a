import { MessageProperties, OutboxStatus, parseTraceParent, TraceProperties } from '@dataverse-outbox/contract';
import { drainQueue, rowByMessageId, type Harness, useHarness } from '../support/harness';

let h: Harness;
useHarness((started) => (h = started));

it('publishes a committed row exactly as the spec maps it and marks it Published', async () => {
  await h.writer.transaction((tx) => {
    tx.enqueue({ target: 'orders', eventType: 'OrderWon', payload: { orderId: 7 }, messageId: 'smoke-1', correlationId: 'corr-1', sourceEntity: 'opportunity', sourceId: '5c1f0c4e-0000-0000-0000-000000000001' });
  });
  const publisher = h.newPublisher();
  const r = await publisher.runOnce();
  expect(r).toMatchObject({ outcome: 'ran', read: 1, published: 1, failed: 0 });
  const [m] = await drainQueue(h, 'orders', 1);
  const row = await rowByMessageId(h, 'smoke-1');
  expect(m!.messageId).toBe('smoke-1');
  expect(m!.body).toEqual({ orderId: 7 });
  expect(m!.subject).toBe('OrderWon');
  expect(m!.correlationId).toBe('corr-1');
  expect(m!.contentType).toBe('application/json');
  expect(m!.applicationProperties).toEqual({
    [MessageProperties.outboxId]: row.id,
    [MessageProperties.outboxMessageId]: 'smoke-1',
    [MessageProperties.sourceEntity]: 'opportunity',
    [MessageProperties.sourceId]: '5c1f0c4e-0000-0000-0000-000000000001',
    [MessageProperties.outboxSequence]: row.sequence,
    // The publisher's send span, a child of the row's trace context (obx_tracecontext), as the Azure SDK carries it.
    [TraceProperties.diagnosticId]: expect.stringMatching(new RegExp(`^00-${parseTraceParent(row.traceContext)!.traceId}-[0-9a-f]{16}-01$`)),
    [TraceProperties.traceParent]: m!.applicationProperties![TraceProperties.diagnosticId],
  });
  expect(row.status).toBe(OutboxStatus.Published);
  expect(row.attempts).toBe(1);
  expect(row.publishedOn).toBeInstanceOf(Date);
});
