// A change-tracking source whose target is set to CloudEvents (obx_MessageFormats) sends CloudEvents too, through both
// emulators; the official `cloudevents` SDK reads what an unmodified @azure/service-bus receiver got (its HTTP binding,
// with binary mode's `cloudEvents:<name>` properties renamed to `ce-<name>` headers: the SDK has no AMQP binding).
import type { ServiceBusClient, ServiceBusReceivedMessage } from '@azure/service-bus';
import { CloudEvent, HTTP } from 'cloudevents';
import { CloudEvents, MessageProperties, Settings } from '@dataverse-outbox/contract';

import { CT_QUEUE, setEnvironmentValue, startCtEnv, type CtEnv } from './support';

jest.setTimeout(120_000);

const OPPORTUNITIES = {
  name: 'opportunities',
  table: 'opportunity',
  entitySet: 'opportunities',
  columns: ['name'],
  target: CT_QUEUE,
  eventType: 'com.contoso.OpportunityChanged',
  deletedEventType: 'com.contoso.OpportunityDeleted',
};

/** Every message of every session, as bytes (the reader under test parses). */
async function receiveRaw(serviceBus: ServiceBusClient, queue: string): Promise<ServiceBusReceivedMessage[]> {
  const all: ServiceBusReceivedMessage[] = [];
  for (;;) {
    let receiver;
    try {
      receiver = await serviceBus.acceptNextSession(queue, { receiveMode: 'receiveAndDelete', skipParsingBodyAsJson: true, abortSignal: AbortSignal.timeout(2000) });
    } catch {
      return all;
    }
    try {
      for (let got = await receiver.receiveMessages(100, { maxWaitTimeInMs: 300 }); got.length > 0; got = await receiver.receiveMessages(100, { maxWaitTimeInMs: 300 })) all.push(...got);
    } finally {
      await receiver.close();
    }
  }
}

function readWithSdk(m: ServiceBusReceivedMessage): CloudEvent<unknown> {
  const headers: Record<string, string> = { 'content-type': m.contentType ?? '' };
  for (const [name, value] of Object.entries(m.applicationProperties ?? {})) {
    if (name.startsWith(CloudEvents.propertyPrefix)) headers[`ce-${name.slice(CloudEvents.propertyPrefix.length)}`] = String(value);
  }
  const event = HTTP.toEvent({ headers, body: (m.body as Buffer).toString('utf8') }) as CloudEvent<unknown> | CloudEvent<unknown>[];
  if (Array.isArray(event)) throw new Error('a batch was not expected');
  expect(event.validate()).toBe(true);
  return event;
}

describe.each([
  ['cloudevents-binary', 'the app setting'],
  ['cloudevents-structured', 'the environment value in Dataverse'],
] as const)('change-tracking source to a %s target (set in %s)', (format, where) => {
  let env: CtEnv;
  beforeAll(async () => {
    const formats = JSON.stringify({ [CT_QUEUE]: format });
    env = await startCtEnv({
      [Settings.ChangeTrackingSources.appSetting]: JSON.stringify([OPPORTUNITIES]),
      ...(where === 'the app setting' ? { [Settings.MessageFormats.appSetting]: formats } : {}),
    });
    if (where !== 'the app setting') await setEnvironmentValue(env.client, Settings.MessageFormats.schemaName, formats);
  });
  afterAll(async () => {
    await env?.close();
  });

  it('sends changes and deletions as CloudEvents the SDK reads: id = messageId, source = environment/table, subject = row id, time = modifiedon', async () => {
    const id = (await env.crm.create('opportunities', { name: 'A' })).id;
    const publisher = env.newPublisher();
    await publisher.runOnce();
    await env.crm.delete('opportunities', id);
    await publisher.runOnce();
    const [changed, deleted, ...extra] = await receiveRaw(env.serviceBus, CT_QUEUE);
    expect(extra).toEqual([]);
    expect(changed!.contentType).toBe(format === 'cloudevents-binary' ? 'application/json' : 'application/cloudevents+json; charset=utf-8');

    const c = readWithSdk(changed!);
    expect(c).toMatchObject({ specversion: '1.0', id: changed!.messageId, source: `${env.client.url}/opportunity`, type: 'com.contoso.OpportunityChanged', subject: id, datacontenttype: 'application/json' });
    expect(c.data).toEqual({ opportunityid: id, name: 'A' });
    // The row's modifiedon, as sent (the SDK would fill in "now" for a missing time, so read the message itself).
    const sent = (m: ServiceBusReceivedMessage): unknown =>
      format === 'cloudevents-binary' ? m.applicationProperties?.['cloudEvents:time'] : (JSON.parse((m.body as Buffer).toString('utf8')) as { time?: string }).time;
    expect(sent(changed!)).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/);
    expect(c.time).toBe(sent(changed!));

    const d = readWithSdk(deleted!);
    expect(d).toMatchObject({ id: deleted!.messageId, type: 'com.contoso.OpportunityDeleted', subject: id });
    // No time for a deletion (the delta does not say when). The SDK's CloudEvent fills in "now" for a missing time, so
    // look at what was sent.
    expect(sent(deleted!)).toBeUndefined();
    expect(d.data).toEqual({ opportunityid: id, '@removed': { reason: 'deleted' } });
    // The outbox's own properties stay.
    expect(deleted!.applicationProperties).toMatchObject({ [MessageProperties.outboxMessageId]: deleted!.messageId, [MessageProperties.sourceEntity]: 'opportunity' });
  });
});
