// Acknowledgements from consumers (obx_AckQueue): applied to rows in bulk; an ack message is completed only after
// Dataverse has it, abandoned (redelivered later) when Dataverse cannot take it now, and dead-lettered alone, with a
// specific reason, when it can never be applied. One poison ack never decides the fate of its neighbours.
import { setTimeout as sleep } from 'node:timers/promises';
import type { ServiceBusClient, ServiceBusReceivedMessage, ServiceBusReceiver } from '@azure/service-bus';
import { parseAcknowledgement, type Acknowledgement } from '@dataverse-outbox/contract';
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
 */
export async function processAckMessages(store: OutboxStorePort, bodies: readonly unknown[], logger: Logger = silentLogger, options: OperationOptions = {}): Promise<AckDisposition[]> {
  const parsed = bodies.map((b) => parseAcknowledgement(b));
  const acks: Acknowledgement[] = parsed.flatMap((p) => ('ack' in p ? [p.ack] : []));
  const results = acks.length ? await applyAcknowledgements(store, acks, logger, options) : new Map<string, NoticeOutcome>();
  const dispositions = parsed.map((p): AckDisposition => ('ack' in p ? dispositionFor(p.ack, results.get(p.ack.outboxId), logger) : { action: 'deadLetter', reason: p.reason, description: p.problem }));
  const abandoned = dispositions.filter((d) => d.action === 'abandon');
  if (abandoned.length) logger.warn('acknowledgements not applied yet; they will be redelivered', { count: abandoned.length, error: abandoned[0]!.reason });
  for (const d of dispositions) if (d.action === 'deadLetter') logger.warn('acknowledgement dead-lettered', { reason: d.reason, problem: d.description });
  return dispositions;
}

export interface AckListenerOptions {
  logger?: Logger;
  /** Messages per receive. Default 250. */
  maxMessageCount?: number;
  /** Wait per receive when the queue is empty. Default 5 s. */
  maxWaitTimeInMs?: number;
  /**
   * Batches being applied at once (each: one read and one $batch write). Default 4: one batch at a time tops out near
   * 140 acks/s with Dataverse's per-request latency, far below what the publisher sends.
   */
  maxConcurrentBatches?: number;
  /** Poison acks are counted here (`outbox.notices.poison`, by source and reason). */
  metrics?: Pick<PublisherMetrics, 'poisonNotice'>;
}

/** Long-running listener for the worker host: receives while earlier batches are still being written. */
export class AckListener {
  private receiver?: ServiceBusReceiver;
  private loop?: Promise<void>;
  private stopping = false;
  private readonly logger: Logger;
  private readonly inFlight = new Set<Promise<void>>();
  /** Consecutive batches Dataverse could not take: receiving pauses, so redeliveries do not burn the delivery count. */
  private failures = 0;
  /** The longest Retry-After Dataverse gave for the last batch (0 when none). */
  private retryAfterInMs = 0;
  private readonly stop = new AbortController();
  /** The tail of the settlement queue (see serially). */
  private settlements: Promise<void> = Promise.resolve();

  constructor(
    private readonly client: ServiceBusClient,
    private readonly store: OutboxStorePort,
    private readonly queue: string,
    private readonly options: AckListenerOptions = {},
  ) {
    this.logger = options.logger ?? silentLogger;
    const concurrency = options.maxConcurrentBatches ?? 4;
    if (!Number.isInteger(concurrency) || concurrency < 1) throw new RangeError(`maxConcurrentBatches must be a positive integer, got ${concurrency}`);
  }

  start(): void {
    if (this.loop) return;
    this.receiver = this.client.createReceiver(this.queue, { receiveMode: 'peekLock' });
    this.loop = this.run();
  }

  private async run(): Promise<void> {
    const receiver = this.receiver!;
    const concurrency = this.options.maxConcurrentBatches ?? 4;
    let receiveFailures = 0;
    while (!this.stopping) {
      while (this.inFlight.size >= concurrency) await Promise.race(this.inFlight);
      if (this.failures > 0) await this.pause(this.failures);
      if (this.stopping) break;
      let messages: ServiceBusReceivedMessage[];
      // Aborted by close(): an empty wait would otherwise hold close() for up to maxWaitTimeInMs. The SDK leaves its
      // abort listener on the signal it is given after an empty receive, so each receive gets its own short-lived
      // signal, linked to the listener's for exactly the time of the call (one leaked listener per idle receive
      // otherwise: MaxListenersExceededWarning after ~50 s idle).
      const receiveAbort = new AbortController();
      const onStop = (): void => receiveAbort.abort();
      this.stop.signal.addEventListener('abort', onStop, { once: true });
      try {
        messages = await receiver.receiveMessages(this.options.maxMessageCount ?? 250, { maxWaitTimeInMs: this.options.maxWaitTimeInMs ?? 5000, abortSignal: receiveAbort.signal });
        receiveFailures = 0;
      } catch (e) {
        if (this.stopping) break;
        receiveFailures++;
        this.logger.warn('ack listener error; retrying', { queue: this.queue, error: describeError(e) });
        await this.pause(receiveFailures);
        continue;
      } finally {
        this.stop.signal.removeEventListener('abort', onStop);
      }
      if (messages.length === 0) continue;
      const batch = this.settle(receiver, messages).finally(() => this.inFlight.delete(batch));
      this.inFlight.add(batch);
    }
    await Promise.all(this.inFlight);
  }

  /**
   * Applies one batch to Dataverse, then settles each message, one at a time: rhea merges dispositions issued at the
   * same moment for neighbouring deliveries into one frame with the first one's outcome, so a Promise.all here would
   * complete a poison ack or dead-letter a good one. Never throws.
   */
  private async settle(receiver: ServiceBusReceiver, messages: ServiceBusReceivedMessage[]): Promise<void> {
    let dispositions: AckDisposition[];
    try {
      dispositions = await processAckMessages(this.store, messages.map((m) => m.body), this.logger);
    } catch (e) {
      // Only a bug gets here (processAckMessages reports store failures per ack): leave the messages to their lock.
      this.logger.error('ack listener could not process a batch; it will be redelivered', { queue: this.queue, error: describeError(e) });
      dispositions = messages.map(() => ({ action: 'abandon', reason: describeError(e) }));
    }
    const abandoned = dispositions.filter((d): d is Extract<AckDisposition, { action: 'abandon' }> => d.action === 'abandon');
    this.failures = abandoned.length ? this.failures + 1 : 0;
    this.retryAfterInMs = Math.max(0, ...abandoned.map((d) => d.retryAfterInMs ?? 0));
    for (let i = 0; i < messages.length; i++) {
      const m = messages[i]!;
      const d = dispositions[i]!;
      try {
        if (d.action === 'complete') await this.serially(() => receiver.completeMessage(m));
        else if (d.action === 'deadLetter') {
          this.options.metrics?.poisonNotice?.('ack', d.reason);
          await this.serially(() => receiver.deadLetterMessage(m, { deadLetterReason: d.reason, deadLetterErrorDescription: d.description.slice(0, 1024) }));
        } else await this.serially(() => receiver.abandonMessage(m));
      } catch (e) {
        // Settling failed (lock lost, connection gone): the message comes back and is applied again, harmlessly.
        if (!this.stopping) this.logger.warn('ack listener could not settle an acknowledgement; it will be redelivered', { queue: this.queue, action: d.action, error: describeError(e) });
      }
    }
  }

  /**
   * One settlement at a time across every batch in flight too: the last delivery of one batch and the first of the
   * next are neighbours, and their dispositions would merge just the same.
   */
  private serially(settle: () => Promise<void>): Promise<void> {
    const run = this.settlements.then(settle, settle);
    this.settlements = run.catch(() => undefined);
    return run;
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
    await Promise.all(this.inFlight);
    const receiver = this.receiver;
    this.receiver = undefined;
    await receiver?.close().catch(() => undefined);
    await this.loop?.catch(() => undefined);
    this.loop = undefined;
  }
}
