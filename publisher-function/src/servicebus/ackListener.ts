// Acknowledgements from consumers (obx_AckQueue): applied to rows in bulk; an ack message is completed only after
// Dataverse has it, abandoned (redelivered later) when Dataverse cannot take it now, and dead-lettered alone, with a
// specific reason, when it can never be applied. One poison ack never decides the fate of its neighbours. A message
// carries one ack (the spec's form) or a batch of them (the contract's batch form, one message for many acks).
import { setTimeout as sleep } from 'node:timers/promises';
import type { ServiceBusClient, ServiceBusReceivedMessage, ServiceBusReceiver } from '@azure/service-bus';
import { parseAcknowledgements, type Acknowledgement, type ParsedAcknowledgement } from '@dataverse-outbox/contract';
import { PoisonReasons, type PoisonReason } from '../core/acks';
import { applyAcknowledgements, type NoticeOutcome } from '../core/ackProcessor';
import { describeError } from '../core/errors';
import type { Logger, OperationOptions, OutboxStorePort, PublisherMetrics } from '../core/ports';
import { silentLogger } from '../core/ports';

export type AckDisposition =
  | { action: 'complete' }
  | { action: 'deadLetter'; reason: PoisonReason; description: string }
  | { action: 'abandon'; reason: string; retryAfterInMs?: number };

function dispositionFor(ack: Acknowledgement, outcome: NoticeOutcome | undefined, logger: Logger): AckDisposition {
  if (!outcome) return { action: 'abandon', reason: 'no result for this acknowledgement' };
  switch (outcome.result) {
    case 'retry':
      return { action: 'abandon', reason: outcome.reason, retryAfterInMs: outcome.retryAfterInMs };
    case 'rejected':
      return { action: 'deadLetter', reason: PoisonReasons.RowUpdateRejected, description: outcome.reason };
    case 'not-found':
      return { action: 'deadLetter', reason: PoisonReasons.UnknownOutboxRow, description: `no outbox row ${ack.outboxId} (never existed, or already cleaned up)` };
    default:
      logger.debug('acknowledgement', { rowId: ack.outboxId, messageId: ack.messageId, outcome: ack.outcome, result: outcome.result });
      return { action: 'complete' };
  }
}

/**
 * Decides what to do with each received ack message (same order). Shared by the worker and the Functions trigger.
 * Malformed acks (not JSON, no or non-GUID outboxId, bad outcome) and acks for unknown rows are dead-lettered alone;
 * acks Dataverse cannot take right now are abandoned, never dead-lettered, so a good ack is never lost un-applied.
 * A batch message is settled as a whole once every ack in it has its result: completed when all were applied;
 * abandoned when one must wait (its redelivery applies the others again, harmlessly: a final row never moves);
 * otherwise, when some can never be applied, dead-lettered after the others were, naming each bad one. `subjects`
 * (same order) tell the two forms apart; a host that has none (the Functions trigger) reads a JSON array as a batch.
 */
export async function processAckMessages(
  store: OutboxStorePort,
  bodies: readonly unknown[],
  logger: Logger = silentLogger,
  options: OperationOptions & { subjects?: readonly unknown[] } = {},
): Promise<AckDisposition[]> {
  const { subjects, ...operation } = options;
  const parsed = bodies.map((b, i) => parseAcknowledgements(b, subjects?.[i]));
  const acks: Acknowledgement[] = parsed.flatMap((items) => items.flatMap((p) => ('ack' in p ? [p.ack] : [])));
  const results = acks.length ? await applyAcknowledgements(store, acks, logger, operation) : new Map<string, NoticeOutcome>();
  const dispositionOf = (p: ParsedAcknowledgement): AckDisposition => ('ack' in p ? dispositionFor(p.ack, results.get(p.ack.outboxId), logger) : { action: 'deadLetter', reason: p.reason, description: p.problem });
  const dispositions = parsed.map((items) => (items.length === 1 ? dispositionOf(items[0]!) : batchDisposition(items, items.map(dispositionOf))));
  const abandoned = dispositions.filter((d) => d.action === 'abandon');
  if (abandoned.length) logger.warn('acknowledgements not applied yet; they will be redelivered', { count: abandoned.length, error: abandoned[0]!.reason });
  for (const d of dispositions) if (d.action === 'deadLetter') logger.warn('acknowledgement dead-lettered', { reason: d.reason, problem: d.description });
  return dispositions;
}

/** One message of several acks (or none): what its acks' own dispositions add up to. */
function batchDisposition(items: readonly ParsedAcknowledgement[], each: readonly AckDisposition[]): AckDisposition {
  const waiting = each.filter((d): d is Extract<AckDisposition, { action: 'abandon' }> => d.action === 'abandon');
  if (waiting.length) {
    const retryAfterInMs = Math.max(-1, ...waiting.map((d) => d.retryAfterInMs ?? -1));
    return { action: 'abandon', reason: waiting[0]!.reason, ...(retryAfterInMs >= 0 ? { retryAfterInMs } : {}) };
  }
  const poison = each.flatMap((d, i) => (d.action === 'deadLetter' ? [{ d, i }] : []));
  if (poison.length === 0) return { action: 'complete' };
  // The parser names an element's place in its problem; the row's own results are named here.
  const named = poison.map(({ d, i }) => ('ack' in items[i]! ? `ack ${i + 1} of ${each.length} in the batch: ${d.description}` : d.description));
  return {
    action: 'deadLetter',
    reason: poison[0]!.d.reason,
    description: `${poison.length} of the ${each.length} acks in this batch can never be applied (the other ${each.length - poison.length} were applied): ${named.join('; ')}`,
  };
}

export interface AckListenerOptions {
  logger?: Logger;
  /** Most acks applied together (read by id, 50 ids a request, and one $batch write). Default 250. */
  maxMessageCount?: number;
  /**
   * How long a batch collects acks once the first one is in hand: it is applied when full or this long after, whichever
   * comes first. Default 100 ms: each ack then waits at most this long plus one read and one write (50 ms + 5 ms per
   * row with Dataverse's latency), where the SDK's own batching held every receive open for a second after its first
   * message. While acks keep flowing this costs at most two requests per delay (20/s at 100 ms): run the listener under
   * its own application user at volume (docs/operations.md), or raise it to trade latency for requests.
   */
  maxBatchDelayInMs?: number;
  /** Wait per receive while the queue is empty. Default 5 s. */
  maxWaitTimeInMs?: number;
  /**
   * Batches being applied at once (each: one read and one $batch write). Default 4: the next batch is collected while
   * earlier ones are written, so a batch never waits for the write of the one before it.
   */
  maxConcurrentBatches?: number;
  /** Poison acks are counted here (`outbox.notices.poison`, by source and reason). */
  metrics?: Pick<PublisherMetrics, 'poisonNotice'>;
}

/** See AckListenerOptions.maxBatchDelayInMs. */
export const DEFAULT_ACK_BATCH_DELAY_MS = 100;

/** Messages one receiver delivered and holds unsettled: they are settled through that receiver and no other. */
interface BatchPart {
  receiver: ServiceBusReceiver;
  messages: ServiceBusReceivedMessage[];
}

/**
 * Long-running listener for the worker host: receives while earlier batches are still being written.
 *
 * Receivers come from a small pool, and a receiver that holds unsettled acks never receives again until they are
 * settled. A receive re-opens a receiver's link after a connection loss (or after the SDK closed it on a drain timeout)
 * under the same link name, and the SDK then settles a message that came on the old link through the new one, for a
 * delivery that link never had: no answer comes, and the settlement waits out the operation timeout, three times over
 * with retries (a minute with the publisher's client). So a batch is settled only through the receivers that delivered
 * it: on the link its messages came on or, once that link is gone, by lock token over $management (what the SDK does
 * for a message whose link closed), failing fast when the lock went with the connection. Another receiver of the pool
 * collects the next batch meanwhile.
 */
export class AckListener {
  private loop?: Promise<void>;
  private stopping = false;
  private readonly logger: Logger;
  private readonly inFlight = new Set<Promise<void>>();
  /** Every open receiver of the pool, and those holding no unsettled ack (last used on top). */
  private readonly receivers = new Set<ServiceBusReceiver>();
  private readonly idle: ServiceBusReceiver[] = [];
  /** Consecutive batches Dataverse could not take: receiving pauses, so redeliveries do not burn the delivery count. */
  private failures = 0;
  /** The longest Retry-After Dataverse gave for the last batch (0 when none). */
  private retryAfterInMs = 0;
  private readonly stop = new AbortController();

  constructor(
    private readonly client: ServiceBusClient,
    private readonly store: OutboxStorePort,
    private readonly queue: string,
    private readonly options: AckListenerOptions = {},
  ) {
    this.logger = options.logger ?? silentLogger;
    const concurrency = options.maxConcurrentBatches ?? 4;
    if (!Number.isInteger(concurrency) || concurrency < 1) throw new RangeError(`maxConcurrentBatches must be a positive integer, got ${concurrency}`);
    const delay = options.maxBatchDelayInMs ?? DEFAULT_ACK_BATCH_DELAY_MS;
    if (!Number.isFinite(delay) || delay < 0) throw new RangeError(`maxBatchDelayInMs must be a non-negative number, got ${delay}`);
  }

  start(): void {
    if (this.loop) return;
    this.idle.push(this.openReceiver());
    this.loop = this.run();
  }

  private openReceiver(): ServiceBusReceiver {
    const receiver = this.client.createReceiver(this.queue, { receiveMode: 'peekLock' });
    this.receivers.add(receiver);
    return receiver;
  }

  /**
   * A receiver whose acks are all settled goes back to the pool. One that failed to settle is closed instead: that stops
   * the SDK renewing the locks of the acks it still holds, so they come back at their lock expiry (at once when the
   * connection they came on is gone) and are applied again, harmlessly.
   */
  private release(receiver: ServiceBusReceiver, settled: boolean): void {
    if (settled && !this.stopping) {
      this.idle.push(receiver);
      return;
    }
    this.receivers.delete(receiver);
    void receiver.close().catch(() => undefined);
  }

  private async run(): Promise<void> {
    const concurrency = this.options.maxConcurrentBatches ?? 4;
    let receiveFailures = 0;
    // The last batch found acks: the next one is collected at once, for at most the batch delay.
    let flowing = false;
    while (!this.stopping) {
      while (this.inFlight.size >= concurrency) await Promise.race(this.inFlight);
      if (this.failures > 0) await this.pause(this.failures);
      if (this.stopping) break;
      let parts: BatchPart[];
      try {
        parts = await this.collect(flowing);
        receiveFailures = 0;
      } catch (e) {
        if (this.stopping) break;
        receiveFailures++;
        flowing = false;
        this.logger.warn('ack listener error; retrying', { queue: this.queue, error: describeError(e) });
        await this.pause(receiveFailures);
        continue;
      }
      flowing = parts.length > 0;
      if (parts.length === 0) continue;
      const batch = this.settle(parts).finally(() => this.inFlight.delete(batch));
      this.inFlight.add(batch);
    }
    await Promise.all(this.inFlight);
  }

  /**
   * One batch: full, or the batch delay after its first ack. receiveMessages alone cannot do this: once a message
   * arrives it keeps collecting for up to a second (the SDK's fixed wait after the first message), bounded only by
   * maxWaitTimeInMs. So an idle listener waits for a single message with the long idle wait, and then collects the
   * rest of its batch with what is left of the batch delay as maxWaitTimeInMs; while acks flow, each batch is one
   * receive bounded by the delay (more when a delay over a second outlasts one). Each receive is on a receiver holding
   * no ack (see the class). Acks already received are never dropped on a failed receive: they are applied, the error
   * reported on the next receive.
   */
  private async collect(flowing: boolean): Promise<BatchPart[]> {
    const maxCount = this.options.maxMessageCount ?? 250;
    const delay = this.options.maxBatchDelayInMs ?? DEFAULT_ACK_BATCH_DELAY_MS;
    const parts: BatchPart[] = [];
    let count = 0;
    if (!flowing) {
      const first = await this.receive(1, this.options.maxWaitTimeInMs ?? 5000);
      if (!first) return parts;
      parts.push(first);
      count = first.messages.length;
    }
    const deadline = performance.now() + delay;
    while (count < maxCount && !this.stopping) {
      const left = Math.round(deadline - performance.now());
      // A flowing batch gets at least one receive (a delay of 0: whatever Service Bus has ready).
      if (left <= 0 && count > 0) break;
      let part: BatchPart | undefined;
      try {
        part = await this.receive(maxCount - count, Math.max(1, left));
      } catch (e) {
        if (count === 0) throw e;
        if (!this.stopping) this.logger.warn('ack listener error; applying the acks already received', { queue: this.queue, error: describeError(e) });
        break;
      }
      if (!part) break;
      parts.push(part);
      count += part.messages.length;
    }
    return parts;
  }

  /**
   * One receive on an idle receiver of the pool (a new one when none is idle). The receiver stays with the messages it
   * returns until they are settled; with none (or on a failed receive, whose messages the SDK gives up to their locks,
   * settling none of them) it is idle again at once.
   */
  private async receive(count: number, maxWaitTimeInMs: number): Promise<BatchPart | undefined> {
    const receiver = this.idle.pop() ?? this.openReceiver();
    // Aborted by close(): an empty wait would otherwise hold close() for up to maxWaitTimeInMs. The SDK leaves its
    // abort listener on the signal it is given after an empty receive, so each receive gets its own short-lived
    // signal, linked to the listener's for exactly the time of the call (one leaked listener per idle receive
    // otherwise: MaxListenersExceededWarning after ~50 s idle).
    const receiveAbort = new AbortController();
    const onStop = (): void => receiveAbort.abort();
    this.stop.signal.addEventListener('abort', onStop, { once: true });
    let messages: ServiceBusReceivedMessage[] = [];
    try {
      messages = await receiver.receiveMessages(count, { maxWaitTimeInMs, abortSignal: receiveAbort.signal });
    } finally {
      this.stop.signal.removeEventListener('abort', onStop);
      if (messages.length === 0) this.release(receiver, true);
    }
    return messages.length ? { receiver, messages } : undefined;
  }

  /**
   * Applies one batch to Dataverse, then settles each message through the receiver that delivered it, one at a time:
   * rhea merges dispositions issued at the same moment for neighbouring deliveries of a link into one frame with the
   * first one's outcome, so a Promise.all here would complete a poison ack or dead-letter a good one. Never throws.
   */
  private async settle(parts: BatchPart[]): Promise<void> {
    const messages = parts.flatMap((p) => p.messages);
    let dispositions: AckDisposition[];
    try {
      dispositions = await processAckMessages(this.store, messages.map((m) => m.body), this.logger, { subjects: messages.map((m) => m.subject) });
    } catch (e) {
      // Only a bug gets here (processAckMessages reports store failures per ack): leave the messages to their lock.
      this.logger.error('ack listener could not process a batch; it will be redelivered', { queue: this.queue, error: describeError(e) });
      dispositions = messages.map(() => ({ action: 'abandon', reason: describeError(e) }));
    }
    const abandoned = dispositions.filter((d): d is Extract<AckDisposition, { action: 'abandon' }> => d.action === 'abandon');
    this.failures = abandoned.length ? this.failures + 1 : 0;
    this.retryAfterInMs = Math.max(0, ...abandoned.map((d) => d.retryAfterInMs ?? 0));
    let first = 0;
    for (const part of parts) {
      const settled = await this.settlePart(part, dispositions.slice(first, first + part.messages.length));
      first += part.messages.length;
      this.release(part.receiver, settled);
    }
  }

  /**
   * Settles one receiver's messages in order. After a failed settlement (lock lost, link or connection gone) the rest are
   * left to their locks: they were received together, so their locks went the same way, and trying each in turn would
   * only wait out the SDK's retries for every one. True when every message was settled.
   */
  private async settlePart(part: BatchPart, dispositions: AckDisposition[]): Promise<boolean> {
    const { receiver, messages } = part;
    for (let i = 0; i < messages.length; i++) {
      const m = messages[i]!;
      const d = dispositions[i]!;
      try {
        if (d.action === 'complete') await receiver.completeMessage(m);
        else if (d.action === 'deadLetter') {
          this.options.metrics?.poisonNotice?.('ack', d.reason);
          await receiver.deadLetterMessage(m, { deadLetterReason: d.reason, deadLetterErrorDescription: d.description.slice(0, 1024) });
        } else await receiver.abandonMessage(m);
      } catch (e) {
        // The acks come back and are applied again, harmlessly.
        if (!this.stopping) this.logger.warn('ack listener could not settle acknowledgements; they will be redelivered', { queue: this.queue, action: d.action, count: messages.length - i, error: describeError(e) });
        return false;
      }
    }
    return true;
  }

  /** Backs off after batches Dataverse could not take: exponential, never shorter than the Retry-After it gave. */
  private pause(failures: number): Promise<void> {
    const backoff = Math.min(30_000, 500 * 2 ** Math.min(failures, 6));
    const ms = Math.min(60_000, Math.max(backoff, this.retryAfterInMs));
    return sleep(ms, undefined, { signal: this.stop.signal }).catch(() => undefined);
  }

  async close(): Promise<void> {
    this.stopping = true;
    this.stop.abort();
    await this.loop?.catch(() => undefined);
    await Promise.all(this.inFlight);
    this.loop = undefined;
    const receivers = [...this.receivers];
    this.receivers.clear();
    this.idle.length = 0;
    await Promise.all(receivers.map((r) => r.close().catch(() => undefined)));
  }
}
