// Messages the chaos run puts on Service Bus itself, as a broken or hostile consumer would: poison acknowledgements sent
// straight to the ack queue between good ones, and poison dead letters (a non-GUID, unknown or missing `outbox-id`) on
// the target queue. Every message it sends is recorded, so the checker can account for each one it finds in a
// dead-letter queue and require every poison one to be dead-lettered with the expected reason.
import { randomUUID } from 'node:crypto';
import type { ServiceBusMessage } from '@azure/service-bus';
import { acknowledgementSubject, MessageProperties, OutboxStatus, toAcknowledgementMessage } from '@dataverse-outbox/contract';
import { PoisonReasons, type createServiceBusClient } from '@dataverse-outbox/publisher-function';

type ServiceBusClient = ReturnType<typeof createServiceBusClient>;
type OutgoingMessage = ServiceBusMessage;

/** Poison acknowledgements: a body that is no acknowledgement at all, an outboxId that is no GUID, a GUID of no row. */
export const poisonAckKinds = ['malformed', 'non-guid-id', 'unknown-row'] as const;
export type PoisonAckKind = (typeof poisonAckKinds)[number];
export const poisonDeadLetterKinds = ['no-outbox-id', 'non-guid-id', 'unknown-row'] as const;
export type PoisonDeadLetterKind = (typeof poisonDeadLetterKinds)[number];

const DEAD_LETTER_PREFIX = 'chaos-poison-dl:';

export interface InjectedAck {
  /** Service Bus messageId (how the checker finds it in the dead-letter queue). */
  messageId: string;
  kind: PoisonAckKind | 'good';
  /** What it was: for the report's examples. */
  what: string;
  /** The outboxId it carries (good acks: a row's id). */
  outboxId?: string;
  /** The dead-letter reason the ack listener must give it (poison only). */
  expectedReason?: string;
  at: string;
  /** The send was confirmed (an unconfirmed one may or may not have landed: explained if found, not required). */
  confirmed: boolean;
}

export interface InjectedDeadLetter {
  messageId: string;
  kind: PoisonDeadLetterKind;
  what: string;
  outboxId?: string;
  at: string;
  confirmed: boolean;
}

/** A row whose acknowledgement was applied already: sending it again is a harmless duplicate the listener must complete. */
export interface AckedRow {
  outboxId: string;
  messageId: string;
}

/** The ack listener's dead-letter reasons, as the DeadLetterReason an operator sees: the product's one closed set. */
export const AckDeadLetterReasons = {
  notJson: PoisonReasons.NotJson,
  notAnObject: PoisonReasons.NotAnObject,
  missingOutboxId: PoisonReasons.MissingOutboxId,
  invalidOutboxId: PoisonReasons.InvalidOutboxId,
  invalidOutcome: PoisonReasons.InvalidOutcome,
  unknownOutboxRow: PoisonReasons.UnknownOutboxRow,
} as const;

/** Bodies no consumer should send; each must be dead-lettered by the ack listener, alone, with its reason. */
const malformedBodies: { what: string; body: unknown; contentType?: string; expectedReason: string }[] = [
  { what: 'text that is not JSON', body: '{"outboxId": "', contentType: 'application/json', expectedReason: AckDeadLetterReasons.notJson },
  { what: 'bytes that are not UTF-8', body: Buffer.from([0xff, 0xfe, 0x00, 0x7b]), expectedReason: AckDeadLetterReasons.notJson },
  { what: 'a JSON array', body: [{ outboxId: '00000000-0000-4000-8000-000000000001', outcome: 'processed' }], expectedReason: AckDeadLetterReasons.notAnObject },
  { what: 'an object without outboxId', body: { messageId: 'x', outcome: 'processed' }, expectedReason: AckDeadLetterReasons.missingOutboxId },
  { what: 'an unknown outcome', body: { outboxId: '00000000-0000-4000-8000-000000000002', messageId: 'x', outcome: 'maybe' }, expectedReason: AckDeadLetterReasons.invalidOutcome },
];

/** outboxId values that are no GUID: the issue's $filter injection among them. */
const nonGuidIds = (): string[] => [
  'not-a-guid',
  `${randomUUID()} or obx_status eq ${OutboxStatus.Pending}`,
  `x') or (obx_status eq ${OutboxStatus.Pending}`,
  '00000000-0000-0000-0000-00000000000g',
  `${randomUUID()}\n`.repeat(2),
  '%27%20or%201%20eq%201',
];

export class ServiceBusInjector {
  readonly acks: InjectedAck[] = [];
  readonly deadLetters: InjectedDeadLetter[] = [];
  private turn = 0;

  constructor(
    private readonly client: ServiceBusClient,
    private readonly queues: { ack: string; target: string },
  ) {}

  private next<T>(items: readonly T[]): T {
    return items[this.turn++ % items.length]!;
  }

  /** Sends poison acks interleaved with duplicates of good ones, in one batch (they reach the listener together). */
  async sendAcks(counts: { malformed: number; nonGuid: number; unknownRow: number }, good: readonly AckedRow[]): Promise<void> {
    const now = new Date().toISOString();
    const poison: { record: InjectedAck; message: OutgoingMessage }[] = [];
    const ack = (outboxId: string, what: string, kind: PoisonAckKind, expectedReason: string): void => {
      const messageId = `chaos-poison-ack:${kind}:${randomUUID()}`;
      const body = { outboxId, messageId, outcome: 'processed', processedAt: now };
      poison.push({ record: { messageId, kind, what, outboxId, expectedReason, at: now, confirmed: false }, message: { messageId, contentType: 'application/json', subject: acknowledgementSubject, body } });
    };
    for (let i = 0; i < counts.malformed; i++) {
      const m = this.next(malformedBodies);
      const messageId = `chaos-poison-ack:malformed:${randomUUID()}`;
      poison.push({ record: { messageId, kind: 'malformed', what: m.what, expectedReason: m.expectedReason, at: now, confirmed: false }, message: { messageId, subject: acknowledgementSubject, body: m.body, ...(m.contentType ? { contentType: m.contentType } : {}) } });
    }
    for (let i = 0; i < counts.nonGuid; i++) {
      const id = this.next(nonGuidIds());
      ack(id, `outboxId ${JSON.stringify(id)}`, 'non-guid-id', AckDeadLetterReasons.invalidOutboxId);
    }
    for (let i = 0; i < counts.unknownRow; i++) ack(randomUUID(), 'outboxId of no row', 'unknown-row', AckDeadLetterReasons.unknownOutboxRow);
    const goods = good.map((row) => {
      const message = toAcknowledgementMessage({ outboxId: row.outboxId, messageId: row.messageId, outcome: 'processed', processedAt: new Date(now) });
      const messageId = `chaos-good-ack:${randomUUID()}`;
      return { record: { messageId, kind: 'good' as const, what: `duplicate ack of ${row.messageId}`, outboxId: row.outboxId, at: now, confirmed: false }, message: { ...message, messageId } };
    });
    // Poison first, between and last: the orders the issue reproduced ([good, poison] and [poison, good]).
    const all: { record: InjectedAck; message: OutgoingMessage }[] = [];
    const n = Math.max(poison.length, goods.length);
    for (let i = 0; i < n; i++) {
      if (poison[i]) all.push(poison[i]!);
      if (goods[i]) all.push(goods[i]!);
    }
    this.acks.push(...all.map((x) => x.record));
    await this.send(this.queues.ack, all.map((x) => x.message));
    for (const x of all) x.record.confirmed = true;
  }

  /**
   * Sends in one batch, trying again for a while when Service Bus is down or refusing attaches (other faults of the run).
   * A retry after a lost answer may send a second copy: the checker accounts for copies by messageId.
   */
  private async send(queue: string, messages: OutgoingMessage[]): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      const sender = this.client.createSender(queue);
      try {
        await sender.sendMessages(messages);
        return;
      } catch (e) {
        if (attempt >= 6) throw new Error(`could not send to ${queue}: ${(e as { code?: string }).code ?? (e as Error).name ?? 'error'} ${(e as Error).message ?? ''}`.trim());
        await new Promise((r) => setTimeout(r, 1000 * attempt));
      } finally {
        await sender.close().catch(() => undefined);
      }
    }
  }

  /**
   * Puts poison dead letters on the target queue the way the broker makes them: messages sent with a 1 ms time to live
   * expire before any receiver takes them and are dead-lettered (TTLExpiredException; the queue dead-letters on expiry).
   */
  async sendDeadLetters(counts: { noOutboxId: number; nonGuid: number; unknownRow: number }): Promise<void> {
    const now = new Date().toISOString();
    const out: { record: InjectedDeadLetter; message: OutgoingMessage }[] = [];
    const add = (kind: PoisonDeadLetterKind, outboxId: string | undefined, what: string): void => {
      const messageId = `${DEAD_LETTER_PREFIX}${kind}:${randomUUID()}`;
      out.push({
        record: { messageId, kind, what, outboxId, at: now, confirmed: false },
        message: {
          messageId,
          sessionId: `chaos-poison-dl-${messageId.slice(-12)}`,
          contentType: 'application/json',
          subject: 'SalesOrderWon',
          timeToLive: 1,
          body: { poison: true },
          applicationProperties: { [MessageProperties.outboxMessageId]: messageId, ...(outboxId === undefined ? {} : { [MessageProperties.outboxId]: outboxId }) },
        },
      });
    };
    for (let i = 0; i < counts.noOutboxId; i++) add('no-outbox-id', undefined, 'no outbox-id property');
    for (let i = 0; i < counts.nonGuid; i++) {
      const id = this.next(nonGuidIds());
      add('non-guid-id', id, `outbox-id ${JSON.stringify(id)}`);
    }
    for (let i = 0; i < counts.unknownRow; i++) add('unknown-row', randomUUID(), 'outbox-id of no row');
    this.deadLetters.push(...out.map((x) => x.record));
    await this.send(this.queues.target, out.map((x) => x.message));
    for (const x of out) x.record.confirmed = true;
  }
}

/** A dead letter the run put on the target queue itself (by its messageId). */
export function isInjectedDeadLetter(messageId: string | undefined): boolean {
  return messageId?.startsWith(DEAD_LETTER_PREFIX) === true;
}
