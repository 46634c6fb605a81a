// Acknowledgement batches (issue 20): one Service Bus message carrying many acks, as the consumer toolkit sends them.
// A batch message is settled once every ack in it is applied or set aside as poison; one bad ack never stops the rest
// of its batch; when Dataverse cannot take them now the whole message comes back, and applying it again is harmless.
// Both emulators over real sockets, the official SDK on the ack queue, the worker's listener and the Functions trigger.
import { InvocationContext } from '@azure/functions';
import type { ServiceBusMessage } from '@azure/service-bus';
import {
  OutboxMessage,
  OutboxStatus,
  acknowledgementBatchSubject,
  acknowledgementSubject,
  partitionOfSlot,
  toAcknowledgementMessage,
  toAcknowledgementMessages,
  type Acknowledgement,
  type AcknowledgementBody,
} from '@dataverse-outbox/contract';
import { randomUUID } from 'node:crypto';
import { AckListener, DataverseClient, DataverseOutboxStore, processAckMessages } from '../../src';
import { acknowledgements } from '../../src/functions/handlers';
import { closeFunctionsHost, setFunctionsHostConfig } from '../../src/testing';
import { ackQueue, ackQueueEmpty, drainAckDeadLetters, publishedRows, type PublishedRow } from '../support/acks';
import { ACK_QUEUE, drainQueue, enqueueMany, eventually, type Harness, useHarness } from '../support/harness';

let h: Harness;
useHarness((started) => (h = started));

const ackOf = (r: PublishedRow, extra: Partial<Acknowledgement> = {}): Acknowledgement => ({ outboxId: r.id, messageId: r.messageId, outcome: 'processed', processedAt: new Date(), ...extra });
const bodyOf = (r: PublishedRow, extra: Partial<Acknowledgement> = {}): AcknowledgementBody => toAcknowledgementMessage(ackOf(r, extra)).body;

/** What the consumer toolkit sends: batch messages (with a unique id) for acks ready together. */
function batchOf(bodies: unknown[]): ServiceBusMessage {
  return { messageId: randomUUID(), contentType: 'application/json', subject: acknowledgementBatchSubject, body: bodies };
}

async function statuses(rows: readonly PublishedRow[]): Promise<number[]> {
  const byId = new Map((await h.store.readByIds(rows.map((r) => r.id))).map((r) => [r.id, r.status]));
  return rows.map((r) => byId.get(r.id)!);
}

async function send(messages: ServiceBusMessage[]): Promise<void> {
  const sender = h.serviceBus.createSender(ACK_QUEUE);
  try {
    for (const m of messages) await sender.sendMessages(m);
  } finally {
    await sender.close();
  }
}

async function withListener<T>(run: () => Promise<T>): Promise<T> {
  const listener = new AckListener(h.serviceBus, h.store, ACK_QUEUE, { maxMessageCount: 50, maxWaitTimeInMs: 300 });
  listener.start();
  try {
    return await run();
  } finally {
    await listener.close();
  }
}

describe('processAckMessages: both forms, one disposition per message', () => {
  it('applies every ack of a batch and completes it; a single ack beside it is read as before', async () => {
    const rows = await publishedRows(h, 'ab-both', 6);
    const dispositions = await processAckMessages(
      h.store,
      [rows.slice(0, 5).map((r) => bodyOf(r)), bodyOf(rows[5]!)],
      undefined,
      { subjects: [acknowledgementBatchSubject, acknowledgementSubject] },
    );
    expect(dispositions).toEqual([{ action: 'complete' }, { action: 'complete' }]);
    expect(await statuses(rows)).toEqual(Array(6).fill(OutboxStatus.Acked));
  });

  it('one malformed ack never stops the rest of its batch: the others are applied, the message set aside with the bad one named', async () => {
    const rows = await publishedRows(h, 'ab-poison', 4);
    const body = [bodyOf(rows[0]!), bodyOf(rows[1]!), { outboxId: 'order-17', messageId: 'x', outcome: 'processed' }, bodyOf(rows[2]!, { outcome: 'rejected', reason: 'ValidationFailed' }), 'not an ack', bodyOf(rows[3]!)];
    const [d] = await processAckMessages(h.store, [body], undefined, { subjects: [acknowledgementBatchSubject] });
    expect(d).toEqual({
      action: 'deadLetter',
      reason: 'InvalidOutboxId',
      description: '2 of the 6 acks in this batch can never be applied (the other 4 were applied): ack 3 of 6 in the batch: ack outboxId must be a GUID, got "order-17"; ack 5 of 6 in the batch: ack is not a JSON object (got "not an ack")',
    });
    expect(await statuses(rows)).toEqual([OutboxStatus.Acked, OutboxStatus.Acked, OutboxStatus.DeadLettered, OutboxStatus.Acked]);
  });

  it('an ack for a row that does not exist is set aside the same way; the message as a whole refused keeps its own reason', async () => {
    const rows = await publishedRows(h, 'ab-unknown', 2);
    const unknown = '7f3c2a10-0b1e-4c3d-9e8f-0123456789ab';
    const dispositions = await processAckMessages(
      h.store,
      [[bodyOf(rows[0]!), { outboxId: unknown, messageId: 'gone', outcome: 'processed' }], { ...bodyOf(rows[1]!) }, new Array(1001).fill(bodyOf(rows[1]!))],
      undefined,
      { subjects: [acknowledgementBatchSubject, acknowledgementBatchSubject, acknowledgementBatchSubject] },
    );
    expect(dispositions).toEqual([
      { action: 'deadLetter', reason: 'UnknownOutboxRow', description: `1 of the 2 acks in this batch can never be applied (the other 1 were applied): ack 2 of 2 in the batch: no outbox row ${unknown} (never existed, or already cleaned up)` },
      { action: 'deadLetter', reason: 'AckBatchNotAnArray', description: 'ack batch body is not a JSON array (got an object)' },
      { action: 'deadLetter', reason: 'AckBatchTooLarge', description: 'ack batch holds 1001 acknowledgements; at most 1000' },
    ]);
    expect(await statuses(rows)).toEqual([OutboxStatus.Acked, OutboxStatus.Published]);
  });

  it('duplicates of one row in one batch, and the same batch applied twice: one transition, completed each time', async () => {
    const rows = await publishedRows(h, 'ab-dup', 2);
    const body = [bodyOf(rows[0]!), bodyOf(rows[0]!), bodyOf(rows[1]!), bodyOf(rows[0]!, { outcome: 'rejected', reason: 'late and contradicting' })];
    for (let time = 0; time < 2; time++) {
      expect(await processAckMessages(h.store, [body], undefined, { subjects: [acknowledgementBatchSubject] })).toEqual([{ action: 'complete' }]);
    }
    const after = await h.store.readByIds(rows.map((r) => r.id));
    expect(after.map((r) => [r.status, r.lastError ?? null])).toEqual([
      [OutboxStatus.Acked, null],
      [OutboxStatus.Acked, null],
    ]);
  });

  it('an empty batch is completed: there is nothing in it to apply', async () => {
    expect(await processAckMessages(h.store, [[]], undefined, { subjects: [acknowledgementBatchSubject] })).toEqual([{ action: 'complete' }]);
  });

  it('when Dataverse cannot take the acks now, the whole batch is abandoned, never dead-lettered, and applied once it can', async () => {
    const rows = await publishedRows(h, 'ab-transient', 3);
    const body = [bodyOf(rows[0]!), { outboxId: 'nope' }, bodyOf(rows[1]!), bodyOf(rows[2]!)];
    // A client that gives up at once: the refusal reaches processAckMessages without the client's own retries.
    const impatient = new DataverseClient(h.dv.url, { token: 'publisher-app' }, { retryOptions: { maxRetries: 0, retryDelayInMs: 10 } });
    const refusal = h.dv.injectFault({ kind: '503', rate: 1, entitySet: 'obx_outboxmessages', method: 'GET' });
    const [during] = await processAckMessages(new DataverseOutboxStore(impatient), [body], undefined, { subjects: [acknowledgementBatchSubject] }).finally(() => impatient.close());
    expect(during?.action).toBe('abandon');
    h.dv.removeFault(refusal.id);
    const [after] = await processAckMessages(h.store, [body], undefined, { subjects: [acknowledgementBatchSubject] });
    expect([after?.action, after?.action === 'deadLetter' && after.reason]).toEqual(['deadLetter', 'InvalidOutboxId']);
    expect(await statuses(rows)).toEqual(Array(3).fill(OutboxStatus.Acked));
  });

  it('without subjects (a host that passes bodies alone) an array is read as a batch, an object as one ack', async () => {
    const rows = await publishedRows(h, 'ab-nosubject', 3);
    expect(await processAckMessages(h.store, [[bodyOf(rows[0]!), bodyOf(rows[1]!)], bodyOf(rows[2]!)])).toEqual([{ action: 'complete' }, { action: 'complete' }]);
    expect(await statuses(rows)).toEqual(Array(3).fill(OutboxStatus.Acked));
  });
});

describe('the worker ack listener reads batch messages off the queue', () => {
  it('acks of rows in several partitions in one batch message: every row Acked, the message completed, nothing dead-lettered', async () => {
    // Session keys spread over the 1,024 slots, so the rows fall into several partitions of 4.
    await enqueueMany(h, 24, (i) => ({ target: 'invoices', sessionKey: `ab-part-key-${i}`, payload: { i }, messageId: `ab-part-${i}` }), 24);
    const publisher = h.newPublisher();
    await eventually(async () => (await publisher.runOnce()).read === 0 && true, 'all published', 60_000, 0);
    await publisher.close();
    await drainQueue(h, 'invoices', 24);
    const rows = (await h.store.query({ statuses: [OutboxStatus.Published] })).filter((r) => r.messageId.startsWith('ab-part-'));
    expect(rows).toHaveLength(24);
    // The slots the writer stored, read as Dataverse holds them.
    const C = OutboxMessage.columns;
    const raw = await h.client.retrieveMultiple(OutboxMessage.entitySetName, { select: [C.id, C.partitionSlot], filter: `startswith(${C.messageId},'ab-part-')` });
    const partitions = new Set(raw.value.map((r) => partitionOfSlot(r[C.partitionSlot] as number, 4)));
    expect(partitions.size).toBeGreaterThan(1);

    const messages = toAcknowledgementMessages(rows.map((r) => ackOf(r)));
    expect(messages.map((m) => m.subject)).toEqual([acknowledgementBatchSubject]);
    await send(messages.map((m) => ({ ...m, messageId: randomUUID() })));
    await withListener(() => eventually(async () => ackQueueEmpty(h.sb) || undefined, 'the batch settled', 30_000, 100));
    expect(await statuses(rows)).toEqual(Array(24).fill(OutboxStatus.Acked));
  });

  it('a batch with a malformed ack: the good ones Acked, the message dead-lettered once with the reason, the messages beside it completed', async () => {
    const rows = await publishedRows(h, 'ab-listener-poison', 5);
    await send([
      batchOf([bodyOf(rows[0]!), bodyOf(rows[1]!)]),
      batchOf([bodyOf(rows[2]!), { outboxId: 'order-17', messageId: 'x', outcome: 'processed' }, bodyOf(rows[3]!)]),
      { ...toAcknowledgementMessage(ackOf(rows[4]!)) },
    ]);
    await withListener(() => eventually(async () => (ackQueue(h.sb).deadLetterMessageCount === 1 && ackQueue(h.sb).activeMessageCount === 0 && ackQueue(h.sb).lockedMessageCount === 0) || undefined, 'all settled', 30_000, 100));
    expect(await statuses(rows)).toEqual(Array(5).fill(OutboxStatus.Acked));
    const [dead] = await drainAckDeadLetters(h, 1);
    expect(dead?.subject).toBe(acknowledgementBatchSubject);
    expect(dead?.deadLetterReason).toBe('InvalidOutboxId');
    expect(dead?.deadLetterErrorDescription).toBe('1 of the 3 acks in this batch can never be applied (the other 2 were applied): ack 2 of 3 in the batch: ack outboxId must be a GUID, got "order-17"');
    // Dead-lettered at its first delivery (one delivery counted), not after a round of redeliveries.
    expect(dead?.deliveryCount).toBe(1);
  });

  it('a batch Dataverse refuses for a while is redelivered whole and applied once it can: nothing dead-lettered, nothing lost', async () => {
    const rows = await publishedRows(h, 'ab-listener-refused', 10);
    const refusal = h.dv.injectFault({ kind: '503', rate: 1, entitySet: 'obx_outboxmessages', method: 'GET' });
    await send([batchOf(rows.map((r) => bodyOf(r)))]);
    await withListener(async () => {
      await eventually(async () => h.dv.listFaults().find((f) => f.id === refusal.id)!.hits >= 2 || undefined, 'refused reads', 20_000, 50);
      expect(ackQueue(h.sb).deadLetterMessageCount).toBe(0);
      h.dv.removeFault(refusal.id);
      await eventually(async () => ackQueueEmpty(h.sb) || undefined, 'the batch settled', 60_000, 100);
    });
    expect(await statuses(rows)).toEqual(Array(10).fill(OutboxStatus.Acked));
  });
});

describe('the Functions ack trigger reads batch messages', () => {
  const saved = { ...process.env };
  beforeAll(() => {
    Object.assign(process.env, {
      DATAVERSE_URL: h.dv.url,
      DATAVERSE_TOKEN: 'publisher-app',
      SERVICEBUS_CONNECTION_STRING: h.sb.connectionString,
      OUTBOX_SCOPE: 'default',
      ...h.appSettings,
    });
    setFunctionsHostConfig({ publishBudgetInMs: 1500, dataverseOptions: { retryOptions: { maxRetries: 1, retryDelayInMs: 50 } } });
  });
  afterAll(async () => {
    await closeFunctionsHost();
    process.env = saved;
  });
  const context = (): InvocationContext => new InvocationContext({ functionName: 'outboxAcknowledgements', invocationId: `ab-${randomUUID()}` });

  it('a batch body (as the trigger hands it over: parsed JSON, no subject) applies each ack; a malformed one is logged and dropped, never the others', async () => {
    const rows = await publishedRows(h, 'ab-func', 4);
    const warnings: string[] = [];
    const ctx = context();
    jest.spyOn(ctx, 'warn').mockImplementation((...args: unknown[]) => void warnings.push(args.map(String).join(' ')));
    await acknowledgements.handler([[bodyOf(rows[0]!), bodyOf(rows[1]!), { outboxId: 'order-17', outcome: 'processed' }, bodyOf(rows[2]!)], bodyOf(rows[3]!)], ctx);
    expect(await statuses(rows)).toEqual(Array(4).fill(OutboxStatus.Acked));
    expect(warnings.join('\n')).toMatch(/1 acknowledgement\(s\) that can never be applied, dropped: #0 InvalidOutboxId: 1 of the 4 acks in this batch can never be applied \(the other 3 were applied\): ack 3 of 4 in the batch: ack outboxId must be a GUID, got "order-17"/);
  });

  it('a batch Dataverse cannot take now fails the invocation, so the host redelivers it; the retry applies it', async () => {
    const rows = await publishedRows(h, 'ab-func-retry', 3);
    const batch = [rows.map((r) => bodyOf(r))];
    const refusal = h.dv.injectFault({ kind: '503', rate: 1, entitySet: 'obx_outboxmessages', method: 'GET' });
    await expect(acknowledgements.handler(batch, context())).rejects.toThrow(/acknowledgements not applied yet/);
    h.dv.removeFault(refusal.id);
    expect(await statuses(rows)).toEqual(Array(3).fill(OutboxStatus.Published));
    await acknowledgements.handler(batch, context());
    expect(await statuses(rows)).toEqual(Array(3).fill(OutboxStatus.Acked));
  });
});
