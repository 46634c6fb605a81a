// The consumer toolkit reads all three message formats a target may be set to (obx_MessageFormats): the default, and
// CloudEvents 1.0 in the AMQP binding's binary and structured modes. The CloudEvents messages are written by the
// official `cloudevents` SDK, an independent writer: it has no AMQP binding, so its HTTP binding's output is carried
// over with the one renaming the two bindings differ by (`ce-<name>` headers -> `cloudEvents:<name>` application
// properties, content-type -> the AMQP content-type; structured mode's body and content type as they are). They go
// through the Service Bus emulator with the official @azure/service-bus SDK to a real consumer with a SQLite inbox.
import type { ServiceBusMessage } from '@azure/service-bus';
import { CloudEvent, HTTP, type Message } from 'cloudevents';
import { CloudEvents, MessageProperties } from '@dataverse-outbox/contract';

import { createOutboxConsumer, DeadLetterReasons, type MessageSettlement, type OutboxConsumer, type OutboxEvent } from '../src/index';
import { sqliteKind, type InboxKind } from './support/inboxKinds';
import { outboxMessage, rowId, startBroker, waitFor, type TestBroker } from './support/serviceBus';
import type Database from 'better-sqlite3';

jest.setTimeout(60_000);

let broker: TestBroker;
let kind: InboxKind<Database.Database>;
const running: OutboxConsumer[] = [];

beforeAll(async () => {
  kind = sqliteKind();
  broker = await startBroker([{ name: 'formats', maxDeliveryCount: 10 }, { name: 'bad-events', maxDeliveryCount: 10 }]);
});
afterAll(async () => {
  await Promise.all(running.map((c) => c.close({ timeoutInMs: 10_000 })));
  await broker?.close();
  await kind?.cleanup();
});

const source = 'https://contoso.crm.dynamics.com/opportunity';
const subject = '5c1f0c4e-0000-0000-0000-0000000000c1';
const time = '2026-12-07T10:00:00.000Z';

/** The outbox's own application properties, which every format keeps (deduplication, acknowledgements). */
function outboxProperties(id: string): Record<string, string | number> {
  return { [MessageProperties.outboxId]: rowId(id), [MessageProperties.outboxMessageId]: id, [MessageProperties.outboxSequence]: 1 };
}

function sdkEvent(id: string, data: unknown, extra: Record<string, string> = {}): CloudEvent<unknown> {
  return new CloudEvent<unknown>({ id, source, type: 'com.contoso.OrderWon', subject, time, datacontenttype: 'application/json', data, ...extra });
}

function bodyBytes(message: Message): Buffer {
  return Buffer.from(typeof message.body === 'string' ? message.body : JSON.stringify(message.body), 'utf8');
}

/** Binary mode: the SDK's `ce-` headers as AMQP application properties under `prefix`. */
function binaryMessage(event: CloudEvent<unknown>, prefix: string = CloudEvents.propertyPrefix): ServiceBusMessage {
  const http = HTTP.binary(event);
  const properties = outboxProperties(event.id);
  for (const [name, value] of Object.entries(http.headers)) {
    if (name.startsWith('ce-') && typeof value === 'string') properties[`${prefix}${name.slice(3)}`] = value;
  }
  return { messageId: event.id, body: bodyBytes(http), contentType: String(http.headers['content-type']), subject: event.type, applicationProperties: properties };
}

/** Structured mode: the SDK's body and content type unchanged. */
function structuredMessage(event: CloudEvent<unknown>): ServiceBusMessage {
  const http = HTTP.structured(event);
  return { messageId: event.id, body: bodyBytes(http), contentType: String(http.headers['content-type']), applicationProperties: outboxProperties(event.id) };
}

async function consume(entity: string, messages: ServiceBusMessage[]): Promise<{ events: OutboxEvent[]; settlements: MessageSettlement[] }> {
  const fixture = await kind.fixture();
  const events: OutboxEvent[] = [];
  const settlements: MessageSettlement[] = [];
  const consumer = createOutboxConsumer({ serviceBus: broker.client, entity, inbox: fixture.open(), handler: (event) => void events.push(event), onSettled: (s) => settlements.push(s) });
  running.push(consumer);
  await consumer.start();
  const sender = broker.client.createSender(entity);
  await sender.sendMessages(messages);
  await sender.close();
  await waitFor(`${messages.length} settlements`, () => settlements.length >= messages.length);
  return { events, settlements };
}

it('gives the handler the same event for the default format, binary mode (either prefix) and structured mode, plus the CloudEvents attributes', async () => {
  const data = { orderId: 7, lines: [{ sku: 'A', qty: 2 }] };
  const { events, settlements } = await consume('formats', [
    outboxMessage({ outboxMessageId: 'plain', outboxId: rowId('plain'), eventType: 'com.contoso.OrderWon', payload: data, sequence: 1 }),
    binaryMessage(sdkEvent('binary', data, { tenant: 'contoso' })),
    binaryMessage(sdkEvent('binary-underscore', data), CloudEvents.alternatePropertyPrefix),
    structuredMessage(sdkEvent('structured', data, { tenant: 'contoso' })),
  ]);
  expect(settlements.map((s) => s.outcome)).toEqual(['processed', 'processed', 'processed', 'processed']);
  const byId = new Map(events.map((e) => [e.outboxMessageId, e]));
  for (const id of ['plain', 'binary', 'binary-underscore', 'structured']) {
    expect(byId.get(id)).toMatchObject({ outboxMessageId: id, outboxId: rowId(id), eventType: 'com.contoso.OrderWon', payload: data, contentType: expect.stringMatching(/^application\/json/) });
  }
  expect(byId.get('plain')!.cloudEvent).toBeUndefined();
  const attributes = { specversion: '1.0', source, type: 'com.contoso.OrderWon', subject, time, datacontenttype: 'application/json' };
  expect(byId.get('binary')!.cloudEvent).toEqual({ ...attributes, id: 'binary', mode: 'binary', extensions: { tenant: 'contoso' } });
  expect(byId.get('binary-underscore')!.cloudEvent).toEqual({ ...attributes, id: 'binary-underscore', mode: 'binary', extensions: {} });
  expect(byId.get('structured')!.cloudEvent).toEqual({ ...attributes, id: 'structured', mode: 'structured', extensions: { tenant: 'contoso' } });
});

it('hostile: a CloudEvent missing a required attribute, of another spec version or event format is dead-lettered with the reason, and the others are handled', async () => {
  const good = sdkEvent('good', { ok: true });
  const noType = structuredMessage(sdkEvent('no-type', {}));
  const envelope = JSON.parse((noType.body as Buffer).toString('utf8')) as Record<string, unknown>;
  delete envelope.type;
  noType.body = Buffer.from(JSON.stringify(envelope));
  const oldVersion = binaryMessage(sdkEvent('old-version', {}));
  oldVersion.applicationProperties![`${CloudEvents.propertyPrefix}specversion`] = '0.3';
  const avro = { ...structuredMessage(sdkEvent('avro', {})), contentType: 'application/cloudevents+avro' };
  const arrayBody = { ...structuredMessage(sdkEvent('array', {})), body: Buffer.from('[1,2]') };

  const { events, settlements } = await consume('bad-events', [noType, oldVersion, avro, arrayBody, binaryMessage(good)]);
  expect(events.map((e) => e.outboxMessageId)).toEqual(['good']);
  const byId = new Map(settlements.map((s) => [s.outboxMessageId, s]));
  expect(byId.get('no-type')).toMatchObject({ outcome: 'dead-lettered', reason: DeadLetterReasons.InvalidBody, description: 'structured CloudEvent: type is missing or empty: a CloudEvent requires it' });
  expect(byId.get('old-version')).toMatchObject({ outcome: 'dead-lettered', reason: DeadLetterReasons.InvalidMessageProperty, description: 'CloudEvents application property specversion must be "1.0", got "0.3"' });
  expect(byId.get('avro')).toMatchObject({ outcome: 'dead-lettered', reason: DeadLetterReasons.InvalidBody, description: expect.stringContaining('application/cloudevents+avro is a CloudEvents event format this consumer does not read') });
  expect(byId.get('array')).toMatchObject({ outcome: 'dead-lettered', reason: DeadLetterReasons.InvalidBody, description: 'a structured CloudEvent must be a JSON object, got an array' });
  expect(byId.get('good')?.outcome).toBe('processed');
});
