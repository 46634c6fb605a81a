// Issue 21 item 4, scheduled events, through the emulators' real sockets: a producer's notBefore (OutboxWriter) is not
// sent before it and is sent within a second after it although the publisher idles at the production polling (waits
// doubling to 5 s), with one publisher and with partitions; it does not hold back its key (contract/src/scheduling.ts:
// it joins its key's order when due, also after a publisher takes the lease); an operator's cancel before it is due
// means it is never sent; hostile notBefore values are refused by the writer with one OutboxRowError and write nothing.
import { isScheduled, OutboxRowError, OutboxStatus, partitionOfSlot, partitionSlotOfKey } from '@dataverse-outbox/contract';
import type { ServiceBusReceivedMessage } from '@azure/service-bus';
import { createPartitionedPublisher, runOperatorAction } from '../../src';
import { eventually, rowByMessageId, SESSION_QUEUE, type Harness, useHarness } from '../support/harness';

let h: Harness;
useHarness((started) => (h = started));

/** The production polling (publisher.ts defaults): idle waits double from 100 ms up to 5 s. */
const PRODUCTION_POLLING = { minIntervalInMs: 100, maxIntervalInMs: 5000 };
/** Acceptance bound (issue 21): a scheduled row is delivered within 1 s after it is due. */
const DELIVERED_WITHIN_MS = 1000;

async function receiveSession(key: string, expected: number, timeoutInMs: number): Promise<ServiceBusReceivedMessage[]> {
  const receiver = await h.serviceBus.acceptSession(SESSION_QUEUE, key, { receiveMode: 'receiveAndDelete' });
  const got: ServiceBusReceivedMessage[] = [];
  const deadline = Date.now() + timeoutInMs;
  try {
    while (got.length < expected && Date.now() < deadline) got.push(...(await receiver.receiveMessages(expected - got.length, { maxWaitTimeInMs: 500 })));
  } finally {
    await receiver.close();
  }
  return got;
}

const enqueuedAt = (m: ServiceBusReceivedMessage): number => (m.enqueuedTimeUtc as Date).getTime();

it('a row due in 5 s is not delivered before it and is delivered within 1 s after; its neighbours of the key do not wait for it', async () => {
  const p = h.newPublisher({ polling: PRODUCTION_POLLING });
  await p.start();
  try {
    // Let the publisher idle until its wait is at the longest (5 s), where a late wake-up would show.
    await new Promise((r) => setTimeout(r, 7000));
    const notBefore = new Date(Date.now() + 5000);
    // Dataverse keeps whole seconds: the writer rounds up, so the row is due at this time, never earlier than asked.
    const due = Math.ceil(notBefore.getTime() / 1000) * 1000;
    await h.writer.transaction((tx) => {
      tx.enqueue({ target: SESSION_QUEUE, sessionKey: 'order-1', payload: { step: 'before' }, messageId: 'sched-before' });
      tx.enqueue({ target: SESSION_QUEUE, sessionKey: 'order-1', payload: { step: 'reminder' }, messageId: 'sched-reminder', notBefore });
      tx.enqueue({ target: SESSION_QUEUE, sessionKey: 'order-1', payload: { step: 'after' }, messageId: 'sched-after' });
    });
    // As an in-process producer does after its commit: the neighbours go now, not after the idle wait in hand.
    p.wake();
    const stored = await rowByMessageId(h, 'sched-reminder');
    expect(stored.nextAttemptOn?.getTime()).toBe(due);
    expect(isScheduled(stored, new Date())).toBe(true);

    const got = await receiveSession('order-1', 3, 15_000);
    expect(got.map((m) => m.messageId)).toEqual(['sched-before', 'sched-after', 'sched-reminder']);
    // The neighbours went out at once, long before the scheduled row was due: they did not wait for it.
    expect(enqueuedAt(got[1]!)).toBeLessThan(due - 3000);
    const late = enqueuedAt(got[2]!) - due;
    expect(late).toBeGreaterThanOrEqual(0);
    expect(late).toBeLessThanOrEqual(DELIVERED_WITHIN_MS);
    expect((await rowByMessageId(h, 'sched-reminder')).status).toBe(OutboxStatus.Published);
  } finally {
    await p.close();
  }
}, 60_000);

it('a publisher that takes the lease while a row is scheduled does not hold its key behind it', async () => {
  const notBefore = new Date(Date.now() + 4000);
  await h.writer.transaction((tx) => {
    tx.enqueue({ target: SESSION_QUEUE, sessionKey: 'order-2', payload: 1, messageId: 'lease-scheduled', notBefore });
    tx.enqueue({ target: SESSION_QUEUE, sessionKey: 'order-2', payload: 2, messageId: 'lease-after' });
  });
  const p = h.newPublisher({ polling: PRODUCTION_POLLING });
  await p.start();
  try {
    const got = await receiveSession('order-2', 2, 15_000);
    expect(got.map((m) => m.messageId)).toEqual(['lease-after', 'lease-scheduled']);
    expect(enqueuedAt(got[0]!)).toBeLessThan(notBefore.getTime());
    expect(enqueuedAt(got[1]!)).toBeGreaterThanOrEqual(notBefore.getTime());
  } finally {
    await p.close();
  }
}, 60_000);

it('partitioned (2 partitions): each partition wakes for its own scheduled row, delivered within 1 s after it is due', async () => {
  // One key in each partition.
  const keyIn = (partition: number): string => {
    for (let i = 0; ; i++) if (partitionOfSlot(partitionSlotOfKey(`part-${i}`), 2) === partition) return `part-${i}`;
  };
  const keys = [keyIn(0), keyIn(1)];
  const p = createPartitionedPublisher({
    dataverse: h.client,
    serviceBus: h.serviceBus,
    appSettings: { ...h.appSettings, OUTBOX_PARTITION_COUNT: '2' },
    leaseDurationInMs: 10_000,
    standbyPollInMs: 300,
    polling: PRODUCTION_POLLING,
    ackListener: false,
    deadLetterMonitorIntervalInMs: 0,
    pendingAgeIntervalInMs: 0,
  });
  await p.start();
  try {
    await eventually(async () => p.heldPartitions.join() === '0,1', 'both partitions held', 20_000);
    await new Promise((r) => setTimeout(r, 7000));
    const notBefore = new Date(Date.now() + 5000);
    const due = Math.ceil(notBefore.getTime() / 1000) * 1000;
    await h.writer.transaction((tx) => {
      for (const key of keys) tx.enqueue({ target: SESSION_QUEUE, sessionKey: key, payload: { key }, messageId: `partitioned-${key}`, notBefore });
    });
    for (const key of keys) {
      const [m] = await receiveSession(key, 1, 15_000);
      expect(m?.messageId).toBe(`partitioned-${key}`);
      const late = enqueuedAt(m!) - due;
      expect(late).toBeGreaterThanOrEqual(0);
      expect(late).toBeLessThanOrEqual(DELIVERED_WITHIN_MS);
    }
  } finally {
    await p.close();
  }
}, 60_000);

it('a scheduled row cancelled before it is due is never delivered; one due at the same time is', async () => {
  const p = h.newPublisher({ polling: PRODUCTION_POLLING });
  await p.start();
  try {
    const notBefore = new Date(Date.now() + 3000);
    await h.writer.transaction((tx) => {
      tx.enqueue({ target: SESSION_QUEUE, sessionKey: 'order-3', payload: 1, messageId: 'cancel-me', notBefore });
      tx.enqueue({ target: SESSION_QUEUE, sessionKey: 'order-4', payload: 2, messageId: 'keep-me', notBefore });
    });
    const row = await rowByMessageId(h, 'cancel-me');
    const r = await runOperatorAction(h.store, 'cancel', { ids: [row.id] });
    expect(r.changed).toEqual([row.id]);
    // The other row proves the publisher was running past the due time.
    const kept = await receiveSession('order-4', 1, 15_000);
    expect(kept.map((m) => m.messageId)).toEqual(['keep-me']);
    await new Promise((resolve) => setTimeout(resolve, 2000));
    expect(await receiveSession('order-3', 1, 1500)).toEqual([]);
    expect((await rowByMessageId(h, 'cancel-me')).status).toBe(OutboxStatus.Cancelled);
  } finally {
    await p.close();
  }
}, 60_000);

it('health: a scheduled row before its time is not the oldest pending work, and its (empty) error hides no other', async () => {
  await h.writer.transaction((tx) => {
    tx.enqueue({ target: SESSION_QUEUE, sessionKey: 'order-5', payload: 1, messageId: 'health-scheduled', notBefore: new Date(Date.now() + 3_600_000) });
  });
  const row = await rowByMessageId(h, 'health-scheduled');
  expect(isScheduled(row, new Date())).toBe(true);
  // Every other row of this file is sent or cancelled by now: nothing is late.
  expect(await h.store.oldestPending()).toBeUndefined();
  // A retrying row's error is reported although the scheduled row's obx_nextattempton is later.
  const retrying = await enqueueOne('health-retrying');
  await h.store.applyUpdates([{ id: retrying.id, etag: retrying.etag, changes: { attempts: 1, nextAttemptOn: new Date(Date.now() + 60_000), lastError: 'Attempt 1 failed: ServiceBusy' } }]);
  expect((await h.store.oldestPending())?.messageId).toBe('health-retrying');
  expect((await h.store.latest()).lastError).toBe('Attempt 1 failed: ServiceBusy');
  await runOperatorAction(h.store, 'cancel', { ids: [row.id, retrying.id] });
});

async function enqueueOne(messageId: string) {
  await h.writer.transaction((tx) => {
    tx.enqueue({ target: SESSION_QUEUE, payload: 1, messageId });
  });
  return rowByMessageId(h, messageId);
}

it.each([
  ['NaN (an invalid Date)', new Date(Number.NaN)],
  ['"tomorrow"', 'tomorrow'],
  ['the year 99999', new Date('+099999-01-01T00:00:00Z')],
  ['the year 99999 as text', '+099999-01-01T00:00:00Z'],
  ['whitespace', ' \t '],
])('the writer refuses notBefore %s with an OutboxRowError and writes nothing', async (_what, notBefore) => {
  const messageId = `hostile-${Math.random().toString(36).slice(2)}`;
  const attempt = h.writer.transaction((tx) => {
    tx.enqueue({ target: SESSION_QUEUE, payload: 1, messageId, notBefore: notBefore as Date });
  });
  await expect(attempt).rejects.toBeInstanceOf(OutboxRowError);
  await expect(attempt).rejects.toMatchObject({ code: 'InvalidField', field: 'notBefore' });
  await expect(rowByMessageId(h, messageId)).rejects.toThrow(/no row/);
});

