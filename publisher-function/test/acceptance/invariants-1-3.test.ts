// Invariants 1 (nothing lost), 2 (nothing from rolled-back work) and 3 (effect once: same messageId after a crash
// between send and mark, dropped by duplicate detection), against both emulators over real sockets.
import { OutboxMessage, OutboxStatus } from '@dataverse-outbox/contract';
import { isDataverseError } from '../../src';
import { countByStatus, drainQueue, enqueueMany, eventually, rowByMessageId, type Harness, useHarness } from '../support/harness';

let h: Harness;
useHarness((started) => (h = started));

describe('invariant 1: nothing lost', () => {
  it('every committed row ends Published despite Dataverse 503s, dropped replies and Service Bus connection drops', async () => {
    const ids = await enqueueMany(h, 300, (i) => ({ target: i % 2 ? 'orders' : 'invoices', eventType: 'E', payload: { i }, messageId: `inv1-${i}` }));
    const publisher = h.newPublisher();
    // Faults on every path the publisher uses: reads, marks (the reply lost after the write committed), and the broker.
    h.dv.injectFault({ kind: '503', rate: 0.2, entitySet: OutboxMessage.entitySetName });
    h.dv.injectFault({ kind: 'drop', count: 2, entitySet: '$batch', phase: 'after' });
    await publisher.start();
    setTimeout(() => h.sb.dropAllConnections(), 300);
    await eventually(async () => (await countByStatus(h, OutboxStatus.Published)) === 300, 'all rows Published', 90_000, 250);
    await publisher.stop();
    const received = [...(await drainQueue(h, 'orders', 150)), ...(await drainQueue(h, 'invoices', 150))];
    const receivedIds = received.map((m) => m.messageId as string);
    expect(new Set(receivedIds)).toEqual(new Set(ids));
    expect(receivedIds).toHaveLength(300); // resends after lost replies were dropped by duplicate detection
  });
});

describe('invariant 2: nothing from rolled-back work', () => {
  it('a change set that fails leaves neither the business change nor the outbox row', async () => {
    const before = await h.store.query({});
    let caught: unknown;
    try {
      await h.writer.transaction((tx) => {
        tx.create('accounts', { name: 'Rolled back Ltd' });
        tx.enqueue({ target: 'orders', payload: { x: 1 }, messageId: 'inv2-rolled-back' });
        // Fails: the account does not exist (If-Match * = update only), so the whole change set rolls back.
        tx.update('accounts', '00000000-0000-0000-0000-0000000000aa', { name: 'nope' });
      });
    } catch (e) {
      caught = e;
    }
    expect(isDataverseError(caught) && caught.code).toBe('NotFound');
    const accounts = await h.client.retrieveMultiple('accounts', { filter: "name eq 'Rolled back Ltd'" });
    expect(accounts.value).toHaveLength(0);
    expect(await h.client.retrieve(OutboxMessage.entitySetName, `${OutboxMessage.columns.messageId}='inv2-rolled-back'`)).toBeUndefined();
    expect(await h.store.query({})).toHaveLength(before.length);
  });

  it('a committed change set has both, and a retried transaction with the same messageId does not add a row', async () => {
    const commit = () =>
      h.writer.transaction((tx) => {
        tx.update('accounts', created, { name: 'Won Ltd' });
        tx.enqueue({ target: 'orders', eventType: 'AccountWon', payload: { account: created }, messageId: 'inv2-idempotent', sourceEntity: 'account', sourceId: created });
      });
    const { id: created } = await h.client.create('accounts', { name: 'Prospect Ltd' });
    await commit();
    await commit(); // the producer did not see the first reply and retries
    const rows = await h.store.query({});
    expect(rows.filter((r) => r.messageId === 'inv2-idempotent')).toHaveLength(1);
    expect((await h.client.retrieve('accounts', created))?.name).toBe('Won Ltd');
  });
});

describe('invariant 3: crash after send, before mark', () => {
  it('the row is sent again with the same messageId and Service Bus drops the duplicate', async () => {
    await enqueueMany(h, 20, (i) => ({ target: 'orders', payload: { i }, messageId: `inv3-${i}` }));
    const first = h.newPublisher({ leaseDurationInMs: 2000 });
    // The publisher "dies" right after sending: its bulk mark never reaches Dataverse, and it never releases the lease.
    h.dv.injectFault({ kind: 'drop', count: 50, entitySet: '$batch', phase: 'before' });
    const r1 = await first.runOnce();
    expect(r1.published).toBeGreaterThanOrEqual(20); // ours (and the row the invariant 2 test committed, when it ran)
    expect(r1.markError).toBeDefined();
    expect(await countByStatus(h, OutboxStatus.Pending)).toBeGreaterThanOrEqual(20);
    h.dv.clearFaults();
    // A second instance takes over once the lease expires and publishes the same rows again.
    const second = h.newPublisher({ leaseDurationInMs: 2000 });
    await eventually(async () => (await second.runOnce()).published >= 20 && true, 'takeover publish', 30_000, 300);
    for (let i = 0; i < 20; i++) expect((await rowByMessageId(h, `inv3-${i}`)).status).toBe(OutboxStatus.Published);
    const received = (await drainQueue(h, 'orders', r1.published)).filter((m) => String(m.messageId).startsWith('inv3-'));
    expect(received.map((m) => m.messageId).sort()).toEqual(Array.from({ length: 20 }, (_, i) => `inv3-${i}`).sort());
  });
});
