// Invariants 4 (order per key), 5 (poison isolation), 6 (no status regression), 7 (stalls visible).
import { MessageProperties, OutboxMessage, OutboxStatus } from '@dataverse-outbox/contract';
import {
  processAckMessages,
  runDeadLetterMonitor,
  runOperatorAction,
  noMetrics,
  silentLogger,
  systemClock,
  DataverseLeaseStore,
  type MessageSenderPort,
} from '../../src';
import { KeyBlockers, LeaseKeeper, parseSettings, runPublishCycle } from '../../src/core';
import { ServiceBusMessageSender } from '../../src/servicebus/sender';
import { countByStatus, drainQueue, enqueueMany, eventually, rowByMessageId, SESSION_QUEUE, MISSING_QUEUE, type Harness, useHarness } from '../support/harness';

let h: Harness;
useHarness((started) => (h = started), { maxMessageSizeInBytes: 64 * 1024 });

async function publishAll(expectedPublished: number, timeoutInMs = 60_000): Promise<void> {
  const p = h.newPublisher();
  await p.start();
  try {
    await eventually(async () => (await countByStatus(h, OutboxStatus.Pending)) === 0 && (await countByStatus(h, OutboxStatus.Published)) >= expectedPublished, 'no Pending rows left', timeoutInMs, 250);
  } finally {
    await p.close();
  }
}

describe('invariant 4: order per key under retries', () => {
  it('rows of one key are published and received in obx_sequence order while sends fail and are retried', async () => {
    const log = process.env.DEBUG_OUTBOX ? (m: string, f?: object) => console.log(Date.now(), m, JSON.stringify(f)) : () => {};
    const keys = ['k1', 'k2', 'k3', 'k4'];
    await enqueueMany(h, 120, (i) => ({ target: SESSION_QUEUE, sessionKey: keys[i % 4], payload: { i }, messageId: `inv4-${i}` }), 10);
    const p = h.newPublisher({ backoff: { baseDelayInMs: 100, maxDelayInMs: 400 }, logger: { debug: (m, f) => m !== 'published' && log(m, f), info: (m, f) => m !== 'row will be retried' && log(m, f), warn: log, error: log } });
    // Service Bus keeps failing for a while: connections dropped and attaches refused, so rows back off and retry.
    const chaos = setInterval(() => h.sb.dropAllConnections(), 400);
    h.sb.refuseAttaches({ durationInMs: 1500 });
    await p.start();
    try {
      await eventually(async () => {
        const n = await countByStatus(h, OutboxStatus.Pending);
        log('pending', { n, holds: p.holdsLease });
        return n === 0;
      }, 'all published', 90_000, 1000);
    } finally {
      clearInterval(chaos);
    }
    if (process.env.DEBUG_OUTBOX) console.log('published', Date.now());
    await p.close();
    if (process.env.DEBUG_OUTBOX) console.log('closed', Date.now());
    const rows = (await h.store.query({})).filter((r) => r.messageId.startsWith('inv4-'));
    expect(rows.every((r) => r.status === OutboxStatus.Published)).toBe(true);
    expect(rows.some((r) => r.attempts > 1)).toBe(true); // retries really happened
    // Received per session in sequence order, with no gap (duplicates, if any, dropped by duplicate detection).
    for (const key of keys) {
      if (process.env.DEBUG_OUTBOX) console.log('accept', key, Date.now());
      const receiver = await h.serviceBus.acceptSession(SESSION_QUEUE, key, { receiveMode: 'receiveAndDelete' });
      const got: number[] = [];
      for (;;) {
        const batch = await receiver.receiveMessages(100, { maxWaitTimeInMs: 500 });
        if (batch.length === 0) break;
        got.push(...batch.map((m) => Number(m.applicationProperties![MessageProperties.outboxSequence])));
      }
      await receiver.close();
      const expected = rows.filter((r) => r.sessionKey === key).map((r) => Number(r.sequence)).sort((a, b) => a - b);
      expect(got).toEqual(expected);
    }
  });

  it('a row waits for an earlier row of its key that is backing off, even on another target; other keys flow', async () => {
    // k-slow's first row goes to a target that refuses sends for a while; its second row goes to a healthy target.
    await h.writer.transaction((tx) => {
      tx.enqueue({ target: 'orders', sessionKey: 'k-slow', payload: { n: 1 }, messageId: 'inv4b-1' });
      tx.enqueue({ target: 'invoices', sessionKey: 'k-slow', payload: { n: 2 }, messageId: 'inv4b-2' });
      tx.enqueue({ target: 'invoices', sessionKey: 'k-other', payload: { n: 3 }, messageId: 'inv4b-3' });
    });
    h.sb.refuseAttaches({ durationInMs: 2500, entity: 'orders' });
    const p = h.newPublisher({ backoff: { baseDelayInMs: 300, maxDelayInMs: 600 } });
    await p.start();
    await eventually(async () => (await rowByMessageId(h, 'inv4b-3')).status === OutboxStatus.Published, 'other key published', 30_000);
    const held = await rowByMessageId(h, 'inv4b-2');
    const first = await rowByMessageId(h, 'inv4b-1');
    if (first.status === OutboxStatus.Pending) expect(held.status).toBe(OutboxStatus.Pending); // held while its predecessor retries
    await eventually(async () => (await rowByMessageId(h, 'inv4b-2')).status === OutboxStatus.Published, 'held row published', 30_000);
    await p.close();
    const a = await rowByMessageId(h, 'inv4b-1');
    const b = await rowByMessageId(h, 'inv4b-2');
    expect(a.status).toBe(OutboxStatus.Published);
    expect(a.attempts).toBeGreaterThan(1);
    expect(b.publishedOn!.getTime()).toBeGreaterThanOrEqual(a.publishedOn!.getTime());
    await drainQueue(h, 'orders', 1);
    await drainQueue(h, 'invoices', 2);
  });
});

describe('invariant 5: poison isolation', () => {
  it('bad rows among 1,000 good ones end Failed with a specific reason; everything else is published, same key included', async () => {
    const good = await enqueueMany(h, 1000, (i) => ({ target: i % 2 ? 'orders' : 'invoices', sessionKey: `poison-key-${i % 10}`, payload: { i }, messageId: `inv5-${i}` }), 100);
    const C = OutboxMessage.columns;
    const bad = async (messageId: string, fields: Record<string, unknown>): Promise<void> => {
      await h.client.create(OutboxMessage.entitySetName, { [C.messageId]: messageId, [C.name]: messageId, [C.target]: 'orders', [C.payload]: '{"ok":true}', [C.sessionKey]: 'poison-key-3', ...fields });
    };
    await bad('inv5-bad-target', { [C.target]: 'payments' });
    await bad('inv5-bad-json', { [C.payload]: '{"orderId": 12,' });
    await bad('inv5-too-large', { [C.payload]: JSON.stringify({ blob: 'x'.repeat(100 * 1024) }) });
    await bad('inv5-expired', { [C.expiresOn]: new Date(Date.now() - 60_000).toISOString() });
    await bad('inv5-no-entity', { [C.target]: MISSING_QUEUE });
    // A good row of the same key after the poison rows.
    await h.writer.transaction((tx) => void tx.enqueue({ target: 'orders', sessionKey: 'poison-key-3', payload: { after: true }, messageId: 'inv5-after' }));

    await publishAll(1001, 120_000);

    const expectFailed = async (messageId: string, pattern: RegExp): Promise<void> => {
      const r = await rowByMessageId(h, messageId);
      expect({ messageId, status: r.status }).toEqual({ messageId, status: OutboxStatus.Failed });
      expect(r.lastError).toMatch(pattern);
    };
    await expectFailed('inv5-bad-target', /^Target "payments" is not in obx_AllowedTargets \(allowed: "orders", "invoices", /);
    await expectFailed('inv5-bad-json', /^Malformed JSON payload \(.+\); obx_contenttype is "application\/json"/);
    await expectFailed('inv5-too-large', /^Payload too large: 102\d+ bytes, but target "orders" accepts messages up to 65536 bytes/);
    await expectFailed('inv5-expired', /^Expired: obx_expireson .+ passed before the row could be published\.$/);
    await expectFailed('inv5-no-entity', /^Service Bus entity "not-created" does not exist \(MessagingEntityNotFound\)/);
    expect((await rowByMessageId(h, 'inv5-after')).status).toBe(OutboxStatus.Published);
    const received = [...(await drainQueue(h, 'orders', 501)), ...(await drainQueue(h, 'invoices', 500))].map((m) => String(m.messageId));
    expect(new Set(received.filter((id) => id.startsWith('inv5-') && id !== 'inv5-after'))).toEqual(new Set(good));
    expect(received).toContain('inv5-after');
  }, 180_000);
});

describe('invariant 6: no status regression', () => {
  const settings = () => parseSettings({}, h.appSettings);

  it('an ack that arrives before the Published mark is kept and applied: the row ends Acked, never Published', async () => {
    await h.writer.transaction((tx) => void tx.enqueue({ target: 'orders', payload: { a: 1 }, messageId: 'inv6-early-ack' }));
    const row = await rowByMessageId(h, 'inv6-early-ack');
    const sender = new ServiceBusMessageSender(h.serviceBus);
    // The consumer acknowledges between our send and our mark.
    const racing: MessageSenderPort = {
      maxMessageSizeInBytes: (t, o) => sender.maxMessageSizeInBytes(t, o),
      async send(target, messages, o) {
        const out = await sender.send(target, messages, o);
        const ack = { outboxId: row.id, messageId: 'inv6-early-ack', outcome: 'processed', processedAt: new Date().toISOString() };
        expect(await processAckMessages(h.store, [JSON.stringify(ack)])).toEqual([{ action: 'complete' }]);
        const between = await rowByMessageId(h, 'inv6-early-ack');
        expect(between.status).toBe(OutboxStatus.Pending);
        expect(between.ackedOn).toBeInstanceOf(Date);
        return out;
      },
    };
    const lease = new LeaseKeeper(new DataverseLeaseStore(h.client), { scope: 'inv6', owner: 'test', durationInMs: 10_000 });
    const r = await runPublishCycle({ store: h.store, sender: racing, lease, blockers: new KeyBlockers(), clock: systemClock, logger: silentLogger, metrics: noMetrics, settings: settings() });
    expect(r.published).toBeGreaterThanOrEqual(1);
    const after = await rowByMessageId(h, 'inv6-early-ack');
    expect(after.status).toBe(OutboxStatus.Acked);
    expect(after.publishedOn).toBeInstanceOf(Date);
    await lease.release();
    await sender.close();
    await drainQueue(h, 'orders', r.published);
  });

  it('a rejection recorded before the Published mark survives a failed re-send: the row ends DeadLettered, not Acked', async () => {
    await h.writer.transaction((tx) => void tx.enqueue({ target: 'orders', payload: { a: 4 }, messageId: 'inv6-early-reject' }));
    const row = await rowByMessageId(h, 'inv6-early-reject');
    // The consumer got the message of a cycle whose Published mark did not land, and rejected it.
    const reject = { outboxId: row.id, messageId: 'inv6-early-reject', outcome: 'rejected', reason: 'ValidationFailed: no customer', processedAt: new Date().toISOString() };
    expect(await processAckMessages(h.store, [JSON.stringify(reject)])).toEqual([{ action: 'complete' }]);
    const answered = await rowByMessageId(h, 'inv6-early-reject');
    expect(answered.status).toBe(OutboxStatus.Pending);
    expect(answered.lastError).toMatch(/^Rejected by consumer: ValidationFailed/);
    const sender = new ServiceBusMessageSender(h.serviceBus);
    const failing: MessageSenderPort = {
      maxMessageSizeInBytes: (t, o) => sender.maxMessageSizeInBytes(t, o),
      send: () => Promise.reject(new Error('connection reset by the namespace')),
    };
    const lease = new LeaseKeeper(new DataverseLeaseStore(h.client), { scope: 'inv6', owner: 'test', durationInMs: 10_000 });
    const deps = { store: h.store, lease, blockers: new KeyBlockers(), clock: systemClock, logger: silentLogger, metrics: noMetrics, settings: settings(), backoff: { baseDelayInMs: 1, maxDelayInMs: 1 } };
    await runPublishCycle({ ...deps, sender: failing });
    const retried = await rowByMessageId(h, 'inv6-early-reject');
    expect(retried.status).toBe(OutboxStatus.Pending);
    expect(retried.attempts).toBe(1);
    expect(retried.lastError).toMatch(/^Rejected by consumer: ValidationFailed/);
    await new Promise((r) => setTimeout(r, 20));
    const marked = await eventually(async () => {
      await runPublishCycle({ ...deps, sender });
      const now = await rowByMessageId(h, 'inv6-early-reject');
      return now.status !== OutboxStatus.Pending && now;
    }, 'the re-sent row is marked');
    expect(marked.status).toBe(OutboxStatus.DeadLettered);
    expect(marked.lastError).toMatch(/^Rejected by consumer: ValidationFailed/);
    await lease.release();
    await sender.close();
    await drainQueue(h, 'orders', 1);
  });

  it('a late mark never overwrites a row cancelled by an operator meanwhile', async () => {
    await h.writer.transaction((tx) => void tx.enqueue({ target: 'orders', payload: { a: 2 }, messageId: 'inv6-cancel' }));
    const row = await rowByMessageId(h, 'inv6-cancel');
    const sender = new ServiceBusMessageSender(h.serviceBus);
    const racing: MessageSenderPort = {
      maxMessageSizeInBytes: (t, o) => sender.maxMessageSizeInBytes(t, o),
      async send(target, messages, o) {
        const out = await sender.send(target, messages, o);
        const c = await runOperatorAction(h.store, 'cancel', { ids: [row.id] });
        expect(c.changed).toEqual([row.id]);
        return out;
      },
    };
    const lease = new LeaseKeeper(new DataverseLeaseStore(h.client), { scope: 'inv6', owner: 'test', durationInMs: 10_000 });
    const r = await runPublishCycle({ store: h.store, sender: racing, lease, blockers: new KeyBlockers(), clock: systemClock, logger: silentLogger, metrics: noMetrics, settings: settings() });
    expect(r.skipped).toBe(1);
    expect((await rowByMessageId(h, 'inv6-cancel')).status).toBe(OutboxStatus.Cancelled);
    await lease.release();
    await sender.close();
    await drainQueue(h, 'orders', 1);
  });

  it('late acks and dead-letter notices never move final rows; a dead letter before the mark stays in the DLQ', async () => {
    await h.writer.transaction((tx) => void tx.enqueue({ target: 'orders', payload: { a: 3 }, messageId: 'inv6-final' }));
    const p = h.newPublisher();
    await p.runOnce();
    const row = await rowByMessageId(h, 'inv6-final');
    const ack = (outcome: string) => JSON.stringify({ outboxId: row.id, messageId: 'inv6-final', outcome, processedAt: new Date().toISOString() });
    await processAckMessages(h.store, [ack('processed')]);
    expect((await rowByMessageId(h, 'inv6-final')).status).toBe(OutboxStatus.Acked);
    await processAckMessages(h.store, [ack('rejected')]); // late, contradicting: ignored
    expect((await rowByMessageId(h, 'inv6-final')).status).toBe(OutboxStatus.Acked);
    await p.close();
    await drainQueue(h, 'orders', 1);
  });
});

describe('invariant 7: stalls are visible', () => {
  it('reports the age of the oldest pending row and the time since the last publish, and turns red on a stall', async () => {
    const p = h.newPublisher({ appSettings: { ...h.appSettings, OUTBOX_HEALTH_THRESHOLDS: '{"maxPendingAgeSeconds":1,"maxFailed":100,"maxDeadLettered":100}' } });
    await h.writer.transaction((tx) => void tx.enqueue({ target: 'orders', payload: { s: 1 }, messageId: 'inv7-1' }));
    await p.runOnce();
    await h.writer.transaction((tx) => void tx.enqueue({ target: 'orders', payload: { s: 2 }, messageId: 'inv7-stalled' }));
    // Nothing publishes now (a stalled publisher): wait past twice the threshold.
    await new Promise((r) => setTimeout(r, 3200));
    const health = await p.health();
    expect(health.counts.Pending).toBeGreaterThanOrEqual(1);
    expect(health.oldestPendingAgeSeconds).toBeGreaterThanOrEqual(2);
    expect(health.secondsSinceLastPublish).toBeGreaterThanOrEqual(3);
    expect(health.level).toBe('red');
    expect(health.reasons.join('; ')).toMatch(/oldest pending row is \d+s old \(threshold 1s\)/);
    expect((await p.runOnce()).published).toBe(1);
    await p.close();
    await drainQueue(h, 'orders', 2);
  });
});

describe('dead letters', () => {
  it('the monitor marks rows DeadLettered with Service Bus reason, removes the DLQ message, and a replay is delivered as messageId#r1', async () => {
    await h.writer.transaction((tx) => void tx.enqueue({ target: 'orders', payload: { d: 1 }, messageId: 'dlq-1' }));
    const p = h.newPublisher();
    await p.runOnce();
    // A consumer fails the message until Service Bus dead-letters it (MaxDeliveryCount 2).
    const receiver = h.serviceBus.createReceiver('orders');
    for (let i = 0; i < 2; i++) {
      const [m] = await receiver.receiveMessages(1, { maxWaitTimeInMs: 3000 });
      expect(m?.messageId).toBe('dlq-1');
      await receiver.abandonMessage(m!);
    }
    await receiver.close();
    await eventually(async () => h.sb.peekDeadLetters('orders').length === 1 && true, 'message dead-lettered');
    const results = await runDeadLetterMonitor(h.serviceBus, h.store, ['orders', 'invoices']);
    expect(results.find((r) => r.target === 'orders')).toMatchObject({ received: 1, markedDeadLettered: 1, leftInQueue: 0 });
    const row = await rowByMessageId(h, 'dlq-1');
    expect(row.status).toBe(OutboxStatus.DeadLettered);
    expect(row.lastError).toMatch(/^Dead-lettered by Service Bus: MaxDeliveryCountExceeded/);
    expect(h.sb.peekDeadLetters('orders')).toHaveLength(0);

    const replay = await runOperatorAction(h.store, 'replay', { ids: [row.id] });
    expect(replay.changed).toEqual([row.id]);
    await p.runOnce();
    const [again] = await drainQueue(h, 'orders', 1);
    expect(again!.messageId).toBe('dlq-1#r1');
    expect(again!.applicationProperties![MessageProperties.outboxMessageId]).toBe('dlq-1');
    const replayed = await rowByMessageId(h, 'dlq-1');
    expect(replayed).toMatchObject({ status: OutboxStatus.Published, replayCount: 1 });
    await p.close();
  });
});
