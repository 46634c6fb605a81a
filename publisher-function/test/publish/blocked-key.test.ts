// Item 4 of issue 17: a key blocked behind a failing head row costs nothing per retry. 10,000 rows wait on one key
// whose head row cannot be sent (its queue refuses attaches); rows of other keys must publish at once, the waiting
// rows must not be written again on every retry, and the key must drain in obx_sequence order once the head goes.
import { OutboxMessage, OutboxStatus } from '@dataverse-outbox/contract';
import type { EntityRecord } from '../../src';
import { enqueueMany, eventually, SESSION_QUEUE, type Harness, useHarness } from '../support/harness';

const BLOCKED_QUEUE = 'hol-blocked';
const BLOCKED_KEY = 'stuck';
const WAITING = 10_000;
const C = OutboxMessage.columns;

let h: Harness;
useHarness((started) => (h = started), { appSettings: { OUTBOX_ALLOWED_TARGETS: JSON.stringify([SESSION_QUEUE, BLOCKED_QUEUE]), OUTBOX_MAX_ATTEMPTS: '1000' } });

async function seedBlockedKey(): Promise<void> {
  for (let from = 0; from < WAITING; from += 1000) {
    const records: EntityRecord[] = [];
    for (let i = from; i < from + 1000; i++) {
      records.push({ [C.name]: `blocked ${i}`, [C.messageId]: `blocked-${i}`, [C.target]: BLOCKED_QUEUE, [C.sessionKey]: BLOCKED_KEY, [C.payload]: JSON.stringify({ i }), [C.contentType]: 'application/json' });
    }
    await h.client.createMultiple(OutboxMessage.entitySetName, OutboxMessage.logicalName, records);
  }
}

it('10,000 rows behind a failing head row: other keys publish at once, waiting rows are never rewritten, the key resumes in order', async () => {
  h.sb.addQueue({ name: BLOCKED_QUEUE, requiresSession: true, lockDurationInMs: 300_000 });
  h.sb.refuseAttaches({ durationInMs: 600_000, entity: BLOCKED_QUEUE });
  await seedBlockedKey();
  const p = h.newPublisher({ backoff: { baseDelayInMs: 500, maxDelayInMs: 1000 }, sendTimeoutInMs: 2000 });
  await p.start();
  try {
    // The head row has failed at least once: the key is blocked.
    await eventually(async () => ((await h.store.query({ statuses: [OutboxStatus.Pending], top: 1 }))[0]?.attempts ?? 0) >= 1, 'the head row backing off', 30_000, 200);
    h.dv.resetRequestCounters();

    // Other keys flow while the key stays blocked (several of the head's retries happen meanwhile).
    const others = await enqueueMany(h, 200, (i) => ({ target: SESSION_QUEUE, sessionKey: `other-${i % 20}`, payload: { i }, messageId: `other-${i}` }), 20);
    await eventually(async () => (await h.store.query({ statuses: [OutboxStatus.Published] })).filter((r) => r.messageId.startsWith('other-')).length === others.length, 'every row of the other keys published', 30_000, 200);
    await new Promise((r) => setTimeout(r, 3000));
    const counters = h.dv.getRequestCounters().users['publisher-app'];
    const published = others.length;
    // Marks of the published rows, plus the head row's backoffs: nothing per waiting row.
    expect(counters?.recordsWritten ?? 0).toBeLessThanOrEqual(published + 20);
    const blockedRows = (await h.store.query({})).filter((r) => r.sessionKey === BLOCKED_KEY);
    expect(blockedRows).toHaveLength(WAITING);
    expect(blockedRows.filter((r) => r.nextAttemptOn !== undefined || r.attempts > 0).map((r) => r.messageId)).toEqual(['blocked-0']);
    expect(blockedRows.every((r) => r.status === OutboxStatus.Pending)).toBe(true);

    // The head row succeeds: the key drains, in obx_sequence order.
    h.sb.clearFaults();
    await eventually(async () => (await h.store.query({ statuses: [OutboxStatus.Pending], top: 1 })).length === 0, 'the blocked key drained', 120_000, 500);
  } finally {
    await p.close();
  }
  const receiver = await h.serviceBus.acceptSession(BLOCKED_QUEUE, BLOCKED_KEY, { receiveMode: 'receiveAndDelete' });
  const got: string[] = [];
  try {
    for (let idle = 0; got.length < WAITING && idle < 5; ) {
      const batch = await receiver.receiveMessages(1000, { maxWaitTimeInMs: 500 });
      if (batch.length === 0) idle++;
      got.push(...batch.map((m) => String(m.messageId)));
    }
  } finally {
    await receiver.close();
  }
  expect(got).toEqual(Array.from({ length: WAITING }, (_, i) => `blocked-${i}`));
}, 240_000);
