// The canary (issue 21): an ordinary outbox row that proves the deployed path end to end. Written like any business
// row, published by the publisher, acknowledged by a small canary responder, Acked in Dataverse. One definition of what
// makes a row a canary and of its legs, so the runner, the responder, the health endpoint and the monitor agree.
// Browser-safe: no Node, Azure or DOM types.
import type { Acknowledgement } from './acknowledgement';
import { OutboxStatus, type OutboxStatusValue } from './generated/names';
import { normaliseGuid } from './identifiers';

/** obx_eventtype of every canary row: how rows are tagged (the monitor and queries tell canaries apart by it). */
export const canaryEventType = 'outbox.canary';

/** Prefix of a canary's obx_messageid (`canary:<uuid>`), so a canary is also recognisable on the wire. */
export const canaryMessageIdPrefix = 'canary:';

/** The default canary queue; it must be listed in obx_AllowedTargets like any target. */
export const defaultCanaryTarget = 'outbox-canary';

/** The legs of a canary, in order: each one ends when the row shows its time. */
export const canaryLegs = ['published', 'acked'] as const;
export type CanaryLeg = (typeof canaryLegs)[number];

/** What a runner sees of the canary row (the engine's row has these fields under the same names). */
export interface CanaryRowView {
  status: OutboxStatusValue;
  createdOn?: Date;
  publishedOn?: Date;
  ackedOn?: Date;
  lastError?: string;
}

export interface CanaryLegTime {
  leg: CanaryLeg;
  /** When the leg ended, per the row (undefined: not yet). */
  at?: Date;
  /** Milliseconds from the previous leg's end (the commit for `published`). */
  durationMs?: number;
}

export interface CanaryProgress {
  legs: CanaryLegTime[];
  /** The first leg without a time: where the canary is (or stalled). undefined = it came back. */
  pendingLeg?: CanaryLeg;
  /** The row reached a status a canary never leaves (Failed, DeadLettered, Cancelled, or Acked: done). */
  finished: boolean;
}

/** True for a canary row, by event type (the tag) or message id prefix. */
export function isCanary(row: { eventType?: string; messageId?: string }): boolean {
  return row.eventType === canaryEventType || (row.messageId?.startsWith(canaryMessageIdPrefix) ?? false);
}

const terminal: readonly OutboxStatusValue[] = [OutboxStatus.Acked, OutboxStatus.Failed, OutboxStatus.DeadLettered, OutboxStatus.Cancelled];

/** The legs' times read from a canary row: committed (createdOn) -> published (obx_publishedon) -> acked (obx_ackedon). */
export function canaryProgress(row: CanaryRowView): CanaryProgress {
  const ends: Record<CanaryLeg, Date | undefined> = { published: row.publishedOn, acked: row.status === OutboxStatus.Acked ? (row.ackedOn ?? undefined) : undefined };
  let previous = row.createdOn;
  const legs: CanaryLegTime[] = [];
  let pendingLeg: CanaryLeg | undefined;
  for (const leg of canaryLegs) {
    const at = pendingLeg === undefined ? ends[leg] : undefined;
    if (at === undefined && pendingLeg === undefined) pendingLeg = leg;
    legs.push({ leg, at, durationMs: at && previous ? Math.max(0, at.getTime() - previous.getTime()) : undefined });
    previous = at;
  }
  return { legs, pendingLeg, finished: terminal.includes(row.status) };
}

/** A received message as a canary responder sees it: `outbox-id`, `outbox-message-id` and the subject (event type). */
export interface ReceivedCanaryView {
  /** As received: any GUID spelling is accepted, anything else is refused. */
  outboxId?: unknown;
  outboxMessageId?: unknown;
  eventType?: unknown;
}

/** Why a canary responder refuses a message (its dead-letter reason). */
export const notACanaryReason = 'NotACanary';

/**
 * What a canary responder answers (the consumer toolkit's responder and the Functions trigger): the normal `processed`
 * acknowledgement for a canary with an outbox-id, else a refusal to dead-letter, never an ack for something it is not.
 */
export function canaryAcknowledgement(
  received: ReceivedCanaryView,
  processedAt: Date,
): { ok: true; ack: Acknowledgement } | { ok: false; reason: typeof notACanaryReason; description: string } {
  const outboxId = normaliseGuid(received.outboxId);
  const messageId = typeof received.outboxMessageId === 'string' ? received.outboxMessageId : undefined;
  const eventType = typeof received.eventType === 'string' ? received.eventType : undefined;
  if (outboxId === undefined || messageId === undefined || !isCanary({ eventType, messageId })) {
    return { ok: false, reason: notACanaryReason, description: 'the canary responder only acknowledges outbox.canary events with an outbox-id' };
  }
  return { ok: true, ack: { outboxId, messageId, outcome: 'processed', processedAt } };
}
