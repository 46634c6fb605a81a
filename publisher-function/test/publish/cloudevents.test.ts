// CloudEvents 1.0 per target (obx_MessageFormats), through both emulators: the publisher sends, an unmodified
// @azure/service-bus receiver takes the raw bytes, and the official `cloudevents` SDK reads them as an independent
// reader. The SDK has no AMQP binding (HTTP, Kafka, MQTT only), so each received message is handed to its HTTP binding
// (HTTP.toEvent) with the one renaming the two bindings differ by: binary mode's `cloudEvents:<name>` application
// properties become `ce-<name>` headers and the AMQP content-type becomes the content-type header; structured mode
// needs nothing but the content-type and the body bytes. The SDK parses the attributes and the data, and validate()
// checks them against the CloudEvents 1.0 schema.
import type { ServiceBusReceivedMessage } from '@azure/service-bus';
import { CloudEvent, HTTP } from 'cloudevents';
import { CloudEvents, MessageFormat, MessageProperties, OutboxStatus, Settings } from '@dataverse-outbox/contract';

import { createPublisher, isOutboxError, type OutboxRow } from '../../src';
import { toOutboundMessage } from '../../src/core/mapping';
import { parseSettings } from '../../src/core/settings';
import { rowByMessageId, SESSION_QUEUE, type Harness, useHarness } from '../support/harness';

let h: Harness;
useHarness((started) => (h = started), {
  // orders: binary mode, invoices: structured mode, orders-by-key: the default format (not listed).
  appSettings: { OUTBOX_MESSAGE_FORMATS: JSON.stringify({ Orders: 'cloudevents-binary', invoices: 'cloudevents-structured' }) },
});

/** Receives every message on the queue as bytes (no JSON parsing by the SDK: the reader under test parses). */
async function receiveRaw(queue: string, expected: number): Promise<ServiceBusReceivedMessage[]> {
  const receiver = h.serviceBus.createReceiver(queue, { receiveMode: 'receiveAndDelete', skipParsingBodyAsJson: true });
  const got: ServiceBusReceivedMessage[] = [];
  const deadline = Date.now() + 20_000;
  try {
    while (got.length < expected && Date.now() < deadline) got.push(...(await receiver.receiveMessages(50, { maxWaitTimeInMs: 500 })));
    got.push(...(await receiver.receiveMessages(50, { maxWaitTimeInMs: 300 })));
  } finally {
    await receiver.close();
  }
  return got;
}

function bodyText(m: ServiceBusReceivedMessage): string {
  expect(Buffer.isBuffer(m.body)).toBe(true);
  return (m.body as Buffer).toString('utf8');
}

/** The SDK's HTTP binding reading an AMQP message (see the top of the file for the one renaming). */
function readWithSdk(m: ServiceBusReceivedMessage): CloudEvent<unknown> {
  const headers: Record<string, string> = {};
  if (m.contentType) headers['content-type'] = m.contentType;
  for (const [name, value] of Object.entries(m.applicationProperties ?? {})) {
    if (name.startsWith(CloudEvents.propertyPrefix)) headers[`ce-${name.slice(CloudEvents.propertyPrefix.length)}`] = String(value);
  }
  // toEvent returns the SDK's CloudEvent class (typed as its interface).
  const event = HTTP.toEvent({ headers, body: bodyText(m) }) as CloudEvent<unknown> | CloudEvent<unknown>[];
  if (Array.isArray(event)) throw new Error('a batch was not expected');
  // toEvent builds the event without validation: validate against the CloudEvents 1.0 schema explicitly.
  expect(event.validate()).toBe(true);
  return event;
}

describe('CloudEvents targets (obx_MessageFormats)', () => {
  const sourceId = '5c1f0c4e-0000-0000-0000-0000000000c1';
  let results: Awaited<ReturnType<ReturnType<Harness['newPublisher']>['runOnce']>>;

  beforeAll(async () => {
    await h.writer.transaction((tx) => {
      tx.enqueue({ target: 'orders', eventType: 'com.contoso.OrderWon', payload: { orderId: 7, total: 12.5 }, messageId: 'ce-bin-1', sourceEntity: 'opportunity', sourceId, correlationId: 'corr-1' });
      tx.enqueue({ target: 'invoices', eventType: 'com.contoso.InvoicePaid', payload: { invoiceId: 'INV-1' }, messageId: 'ce-str-1', sourceEntity: 'invoice', sourceId });
      tx.enqueue({ target: 'invoices', eventType: 'com.contoso.Note', payload: 'plain words', contentType: 'text/plain', messageId: 'ce-str-text' });
      // No event type: a CloudEvent cannot be formed for a CloudEvents target; fine for a default-format target.
      tx.enqueue({ target: 'orders', payload: { orderId: 8 }, messageId: 'ce-bin-notype' });
      tx.enqueue({ target: 'invoices', payload: { invoiceId: 'INV-2' }, messageId: 'ce-str-notype' });
      tx.enqueue({ target: SESSION_QUEUE, payload: { orderId: 9 }, messageId: 'default-notype', sessionKey: 'k1' });
    });
    results = await h.newPublisher().runOnce();
  });

  it('publishes the well-formed rows and fails only the CloudEvents rows without an event type', () => {
    expect(results).toMatchObject({ outcome: 'ran', read: 6, published: 4, failed: 2 });
  });

  it('binary mode: cloudEvents: application properties the SDK reads as a valid event with the outbox attributes; the outbox properties stay', async () => {
    const [m, ...extra] = await receiveRaw('orders', 1);
    expect(extra).toEqual([]);
    const row = await rowByMessageId(h, 'ce-bin-1');
    const event = readWithSdk(m!);
    expect(event.specversion).toBe('1.0');
    expect(event.id).toBe('ce-bin-1');
    expect(event.source).toBe(`${h.client.url}/opportunity`);
    expect(event.type).toBe('com.contoso.OrderWon');
    expect(event.subject).toBe(sourceId);
    expect(event.time).toBe(row.createdOn!.toISOString());
    expect(event.datacontenttype).toBe('application/json');
    expect(event.data).toEqual({ orderId: 7, total: 12.5 });
    // Exactly the binding's names: datacontenttype travels as the AMQP content-type, not as a property.
    expect(Object.keys(m!.applicationProperties!).filter((k) => k.startsWith('cloudEvents')).sort()).toEqual(
      ['cloudEvents:id', 'cloudEvents:source', 'cloudEvents:specversion', 'cloudEvents:subject', 'cloudEvents:time', 'cloudEvents:type'],
    );
    expect(m!.applicationProperties).toMatchObject({ [MessageProperties.outboxId]: row.id, [MessageProperties.outboxMessageId]: 'ce-bin-1', [MessageProperties.outboxSequence]: row.sequence });
    expect(m!).toMatchObject({ messageId: 'ce-bin-1', subject: 'com.contoso.OrderWon', correlationId: 'corr-1', contentType: 'application/json' });
    expect(row.status).toBe(OutboxStatus.Published);
  });

  it('structured mode: an application/cloudevents+json body the SDK reads as a valid event (JSON data embedded, text data as a string)', async () => {
    const messages = await receiveRaw('invoices', 2);
    expect(messages).toHaveLength(2);
    const byId = new Map(messages.map((m) => [m.messageId, m]));
    const json = byId.get('ce-str-1')!;
    expect(json.contentType).toBe('application/cloudevents+json; charset=utf-8');
    const row = await rowByMessageId(h, 'ce-str-1');
    const event = readWithSdk(json);
    expect({ ...event.toJSON() }).toEqual({
      specversion: '1.0',
      id: 'ce-str-1',
      source: `${h.client.url}/invoice`,
      type: 'com.contoso.InvoicePaid',
      subject: sourceId,
      time: row.createdOn!.toISOString(),
      datacontenttype: 'application/json',
      data: { invoiceId: 'INV-1' },
    });
    expect(json.applicationProperties).toMatchObject({ [MessageProperties.outboxId]: row.id, [MessageProperties.outboxMessageId]: 'ce-str-1' });

    const text = readWithSdk(byId.get('ce-str-text')!);
    expect(text).toMatchObject({ id: 'ce-str-text', type: 'com.contoso.Note', datacontenttype: 'text/plain', data: 'plain words', source: h.client.url });
    // No table, no source row: no subject; source is the environment alone.
    expect(text.subject).toBeUndefined();
  });

  it('a CloudEvents row without an event type ends Failed with a reason naming the setting; nothing half-formed is sent', async () => {
    for (const [id, target, format] of [
      ['ce-bin-notype', 'orders', 'cloudevents-binary'],
      ['ce-str-notype', 'invoices', 'cloudevents-structured'],
    ] as const) {
      const row = await rowByMessageId(h, id);
      expect(row.status).toBe(OutboxStatus.Failed);
      expect(row.lastError).toBe(
        `Target "${target}" is set to ${format} in ${Settings.MessageFormats.schemaName}, and a CloudEvent needs a type: the row has no obx_eventtype. Fix the producer, then retry or cancel the row.`,
      );
    }
    // The default-format target is not affected: its row without an event type is published in the outbox's format.
    const session = await h.serviceBus.acceptNextSession(SESSION_QUEUE, { receiveMode: 'receiveAndDelete', skipParsingBodyAsJson: true });
    const [m] = await session.receiveMessages(1, { maxWaitTimeInMs: 2000 }).finally(() => session.close());
    expect((await rowByMessageId(h, 'default-notype')).status).toBe(OutboxStatus.Published);
    expect(m).toMatchObject({ messageId: 'default-notype', contentType: 'application/json', sessionId: 'k1' });
    expect(Object.keys(m!.applicationProperties ?? {}).filter((k) => k.startsWith('cloudEvents'))).toEqual([]);
    expect(JSON.parse(bodyText(m!))).toEqual({ orderId: 9 });
  });
});

describe('hostile obx_MessageFormats: the publisher refuses to start, naming the setting and each entry', () => {
  it.each([
    ['not JSON', '{orders:cloudevents-binary}', [/^app setting OUTBOX_MESSAGE_FORMATS is not valid JSON/]],
    ['an array', '["orders"]', [/^app setting OUTBOX_MESSAGE_FORMATS must be a JSON object of target name -> format/]],
    [
      'an unknown format and a target that is not allowed',
      '{"orders":"cloudevents","payments":"cloudevents-binary","invoices":"cloudevents-structured"}',
      [
        /^app setting OUTBOX_MESSAGE_FORMATS entry "orders": the format must be one of "default", "cloudevents-binary", "cloudevents-structured", got "cloudevents"$/,
        /^app setting OUTBOX_MESSAGE_FORMATS entry "payments": target "payments" is not in the allowed targets \("orders", "invoices", "orders-by-key", "not-created"\)$/,
      ],
    ],
  ])('%s', async (_what, value, expected) => {
    const publisher = createPublisher({ dataverse: h.client, serviceBus: h.serviceBus, appSettings: { ...h.appSettings, OUTBOX_MESSAGE_FORMATS: value }, ackListener: false, deadLetterMonitorIntervalInMs: 0, pendingAgeIntervalInMs: 0 });
    try {
      const error = await publisher.start().then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(isOutboxError(error) && error.code).toBe('InvalidSettings');
      const details = (error as { details: readonly string[] }).details;
      expect(details).toHaveLength(expected.length);
      expected.forEach((pattern, i) => expect(details[i]).toMatch(pattern));
    } finally {
      await publisher.close();
    }
  });
});

describe('CloudEvents mapping rules', () => {
  const row: OutboxRow = {
    id: '0f8fad5b-d9cb-469f-a165-70867728950e',
    messageId: 'order-7',
    target: 'orders',
    eventType: 'com.contoso.OrderWon',
    payload: '{"orderId":7}',
    sequence: '000000000042',
    status: OutboxStatus.Pending,
    attempts: 0,
    replayCount: 2,
    createdOn: new Date('2026-12-07T10:00:00Z'),
  };

  it('a replay keeps the CloudEvent id (the same event again: CloudEvents consumers deduplicate on source + id); only the Service Bus messageId gets #r<n>', () => {
    const binary = toOutboundMessage(row, { format: MessageFormat.CloudEventsBinary, environmentUrl: 'https://contoso.crm.dynamics.com' });
    expect(binary.messageId).toBe('order-7#r2');
    expect(binary.applicationProperties).toMatchObject({ 'cloudEvents:id': 'order-7', 'cloudEvents:source': 'https://contoso.crm.dynamics.com', 'cloudEvents:time': '2026-12-07T10:00:00.000Z' });
    // No source row: no subject attribute at all (never an empty one).
    expect(binary.applicationProperties).not.toHaveProperty('cloudEvents:subject');
    const structured = toOutboundMessage(row, { format: MessageFormat.CloudEventsStructured, environmentUrl: 'https://contoso.crm.dynamics.com' });
    expect(structured).toMatchObject({ messageId: 'order-7#r2', body: { id: 'order-7', data: { orderId: 7 } } });
  });

  it('the default format is unchanged: no CloudEvents property', () => {
    const plain = toOutboundMessage(row);
    expect(Object.keys(plain.applicationProperties).some((k) => k.startsWith('cloudEvents'))).toBe(false);
    expect(plain.body).toEqual({ orderId: 7 });
  });

  it('hostile settings from Dataverse are named by the setting and entry too', () => {
    expect(() => parseSettings({ MessageFormats: '{"orders":"structured"}' }, { OUTBOX_ALLOWED_TARGETS: '["orders"]' })).toThrow(
      /obx_MessageFormats \(dataverse\) entry "orders": the format must be one of "default", "cloudevents-binary", "cloudevents-structured", got "structured"/,
    );
    // A usable value is read with its target normalised.
    expect(parseSettings({ MessageFormats: '{"ORDERS":"cloudevents-binary"}' }, { OUTBOX_ALLOWED_TARGETS: '["orders"]' }).messageFormats).toEqual(new Map([['orders', 'cloudevents-binary']]));
  });
});
