// Duplicate detection, scheduled messages, time-to-live, topics with correlation-filter subscriptions.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ADMIN_WRITE_HEADER } from '@dataverse-outbox/emulators/servicebus';
import { ServiceBusAdminClient } from '@dataverse-outbox/emulators/admin';
import { startHarness, sleep, eventually, type Harness } from './support';

describe('Service Bus emulator: entity features', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({
      queues: [
        { name: 'dedupe', requiresDuplicateDetection: true, duplicateDetectionHistoryTimeWindowInMs: 2000 },
        { name: 'no-dedupe' },
        { name: 'scheduled' },
        { name: 'ttl-dlq', deadLetteringOnMessageExpiration: true },
        { name: 'ttl-drop' },
        { name: 'short-ttl', defaultMessageTimeToLiveInMs: 500, deadLetteringOnMessageExpiration: true },
      ],
      topics: [
        {
          name: 'events',
          subscriptions: [
            { name: 'all' },
            { name: 'orders', rules: [{ name: 'orders-only', correlationFilter: { subject: 'order', applicationProperties: { region: 'eu' } } }] },
            { name: 'by-correlation', rules: [{ name: 'c', correlationFilter: { correlationId: 'corr-1' } }] },
          ],
        },
      ],
    });
  });
  afterAll(async () => h.close());

  it('drops a duplicate messageId within the detection window and accepts it again after the window', async () => {
    const sender = h.client.createSender('dedupe');
    await sender.sendMessages({ body: 1, messageId: 'same' });
    await sender.sendMessages({ body: 2, messageId: 'same' });
    await sender.sendMessages([{ body: 3, messageId: 'same' }, { body: 4, messageId: 'other' }]);
    const receiver = h.client.createReceiver('dedupe', { receiveMode: 'receiveAndDelete' });
    const first = await receiver.receiveMessages(10, { maxWaitTimeInMs: 1500 });
    expect(first.map((m) => m.body)).toEqual([1, 4]);
    await sleep(2200);
    await sender.sendMessages({ body: 5, messageId: 'same' });
    const later = await receiver.receiveMessages(10, { maxWaitTimeInMs: 1500 });
    expect(later.map((m) => m.body)).toEqual([5]);
  });

  it('lists each send that duplicate detection dropped, with when its messageId was first accepted; kept across a restart', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sb-dropped-'));
    const entities = { queues: [{ name: 'Dedupe-Listed', requiresDuplicateDetection: true }, { name: 'plain' }] };
    try {
      const first = await startHarness(entities, { dataFile: join(dir, 'sb.sqlite') });
      const sender = first.client.createSender('dedupe-listed');
      const before = Date.now();
      await sender.sendMessages({ body: 1, messageId: 'once' });
      await sender.sendMessages({ body: 2, messageId: 'twice' });
      await sender.sendMessages([{ body: 3, messageId: 'twice' }, { body: 4, messageId: 'thrice' }]);
      await sender.sendMessages({ body: 5, messageId: 'twice' });
      await first.client.createSender('plain').sendMessages([{ body: 6, messageId: 'x' }, { body: 7, messageId: 'x' }]);
      const dropped = first.emulator.droppedDuplicates('dedupe-listed');
      expect(dropped.map((d) => [d.entity, d.messageId])).toEqual([
        ['Dedupe-Listed', 'twice'],
        ['Dedupe-Listed', 'twice'],
      ]);
      // Both drops name the first accepted send, not the previous drop.
      expect(new Set(dropped.map((d) => d.firstSeenAt)).size).toBe(1);
      for (const d of dropped) expect(before <= d.firstSeenAt && d.firstSeenAt <= d.droppedAt).toBe(true);
      // Without duplicate detection nothing is dropped, so nothing is listed.
      expect(first.emulator.droppedDuplicates('plain')).toEqual([]);
      expect(() => first.emulator.droppedDuplicates('nope')).toThrow(/nope/);
      // The HTTP admin endpoint and its typed client give the same list; max bounds it.
      const admin = new ServiceBusAdminClient(first.emulator.adminUrl);
      expect(await admin.droppedDuplicates('dedupe-listed')).toEqual(dropped);
      expect(await admin.droppedDuplicates('dedupe-listed', 1)).toEqual(dropped.slice(0, 1));
      const missing = await fetch(`${first.emulator.adminUrl}/entities/nope/duplicates`, { headers: { [ADMIN_WRITE_HEADER]: '1' } });
      expect(missing.status).toBe(404);
      await first.close();

      const second = await startHarness(entities, { dataFile: join(dir, 'sb.sqlite') });
      try {
        expect(second.emulator.droppedDuplicates('dedupe-listed')).toEqual(dropped);
        // The detection history survived too: a fourth send of 'twice' is dropped and listed.
        await second.client.createSender('dedupe-listed').sendMessages({ body: 8, messageId: 'twice' });
        expect(second.emulator.droppedDuplicates('dedupe-listed').map((d) => d.messageId)).toEqual(['twice', 'twice', 'twice']);
      } finally {
        await second.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('keeps duplicates when the entity does not require duplicate detection', async () => {
    const sender = h.client.createSender('no-dedupe');
    await sender.sendMessages([{ body: 1, messageId: 'x' }, { body: 2, messageId: 'x' }]);
    expect((await h.client.createReceiver('no-dedupe').peekMessages(10)).map((m) => m.body)).toEqual([1, 2]);
  });

  it('holds a scheduled message until its time, shows it as scheduled, and cancels on request', async () => {
    const sender = h.client.createSender('scheduled');
    const at = new Date(Date.now() + 1500);
    const [seq] = await sender.scheduleMessages({ body: 'later' }, at);
    const [cancelSeq] = await sender.scheduleMessages({ body: 'cancelled' }, at);
    await sender.cancelScheduledMessages(cancelSeq!);
    const receiver = h.client.createReceiver('scheduled');
    const peeked = await receiver.peekMessages(10);
    expect(peeked.map((m) => [m.body, m.state, m.sequenceNumber!.toNumber()])).toEqual([['later', 'scheduled', seq!.toNumber()]]);
    expect(h.emulator.listEntities().find((e) => e.name === 'scheduled')).toMatchObject({ scheduledMessageCount: 1, activeMessageCount: 0 });
    expect(await receiver.receiveMessages(1, { maxWaitTimeInMs: 500 })).toEqual([]);
    const [m] = await receiver.receiveMessages(1, { maxWaitTimeInMs: 5000 });
    expect(m!.body).toBe('later');
    expect(Date.now()).toBeGreaterThanOrEqual(at.getTime() - 50);
    expect(m!.scheduledEnqueueTimeUtc!.getTime()).toBe(at.getTime());
    await receiver.completeMessage(m!);
    await sleep(300);
    expect(await receiver.peekMessages(10)).toEqual([]);
  });

  it('dead-letters an expired message with TTLExpiredException when DeadLetteringOnMessageExpiration is on', async () => {
    await h.client.createSender('ttl-dlq').sendMessages({ body: 'stale', timeToLive: 300, messageId: 't1' });
    const dead = await eventually(() => h.emulator.peekDeadLetters('ttl-dlq')[0], 10_000, 'expiry');
    expect(dead).toMatchObject({ messageId: 't1', deadLetterReason: 'TTLExpiredException' });
    const [m] = await h.client.createReceiver('ttl-dlq', { subQueueType: 'deadLetter' }).receiveMessages(1, { maxWaitTimeInMs: 3000 });
    expect(m!.deadLetterReason).toBe('TTLExpiredException');
    expect(m!.timeToLive).toBe(300);
  });

  it('drops an expired message when DeadLetteringOnMessageExpiration is off, and applies the entity default TTL', async () => {
    await h.client.createSender('ttl-drop').sendMessages({ body: 'stale', timeToLive: 300 });
    await h.client.createSender('short-ttl').sendMessages({ body: 'default ttl' });
    await sleep(1500);
    expect(await h.client.createReceiver('ttl-drop').receiveMessages(1, { maxWaitTimeInMs: 500 })).toEqual([]);
    expect(h.emulator.peekDeadLetters('ttl-drop')).toEqual([]);
    const [dead] = await eventually(() => {
      const d = h.emulator.peekDeadLetters('short-ttl');
      return d.length > 0 ? d : undefined;
    });
    expect(dead!.deadLetterReason).toBe('TTLExpiredException');
  });

  it('copies a topic message to every subscription whose correlation filter matches, with its own DLQ', async () => {
    const sender = h.client.createSender('events');
    await sender.sendMessages([
      { body: 'eu order', subject: 'order', applicationProperties: { region: 'eu' } },
      { body: 'us order', subject: 'order', applicationProperties: { region: 'us' } },
      { body: 'correlated', correlationId: 'corr-1' },
    ]);
    const bodies = async (sub: string): Promise<unknown[]> =>
      (await h.client.createReceiver('events', sub, { receiveMode: 'receiveAndDelete' }).receiveMessages(10, { maxWaitTimeInMs: 1500 })).map((m) => m.body);
    expect(await bodies('all')).toEqual(['eu order', 'us order', 'correlated']);
    expect(await bodies('orders')).toEqual(['eu order']);
    expect(await bodies('by-correlation')).toEqual(['correlated']);

    await sender.sendMessages({ body: 'to dlq', subject: 'order', applicationProperties: { region: 'eu' } });
    const receiver = h.client.createReceiver('events', 'orders');
    const [m] = await receiver.receiveMessages(1, { maxWaitTimeInMs: 3000 });
    await receiver.deadLetterMessage(m!, { deadLetterReason: 'r', deadLetterErrorDescription: 'd' });
    const dlq = h.client.createReceiver('events', 'orders', { subQueueType: 'deadLetter' });
    const [dead] = await dlq.receiveMessages(1, { maxWaitTimeInMs: 3000 });
    expect(dead!.body).toBe('to dlq');
    expect(dead!.deadLetterReason).toBe('r');
    await dlq.completeMessage(dead!);
    expect(h.emulator.peekDeadLetters('events/Subscriptions/orders')).toHaveLength(0);
    expect(h.emulator.listEntities().filter((e) => e.topic === 'events').map((e) => e.name)).toEqual([
      'events/Subscriptions/all',
      'events/Subscriptions/orders',
      'events/Subscriptions/by-correlation',
    ]);
  });
});
