// Acknowledgements from consumers (obx_AckQueue): applied to rows in bulk; an ack message is completed only after
// Dataverse has it, and abandoned (redelivered later) when Dataverse cannot be reached.
import { setTimeout as sleep } from 'node:timers/promises';
import type { ServiceBusClient, ServiceBusReceivedMessage, ServiceBusReceiver } from '@azure/service-bus';
import { parseAcknowledgement, type Acknowledgement } from '../core/acks';
import { applyAcknowledgements } from '../core/ackProcessor';
import { describeError } from '../core/errors';
import type { Logger, OperationOptions, OutboxStorePort } from '../core/ports';
import { silentLogger } from '../core/ports';

export type AckDisposition = { action: 'complete' } | { action: 'deadLetter'; reason: string } | { action: 'abandon'; reason: string };

/** Decides what to do with each received ack message (same order). Shared by the worker and the Functions trigger. */
export async function processAckMessages(store: OutboxStorePort, bodies: readonly unknown[], logger: Logger = silentLogger, options: OperationOptions = {}): Promise<AckDisposition[]> {
  const parsed = bodies.map((b) => parseAcknowledgement(b));
  const acks: Acknowledgement[] = parsed.flatMap((p) => ('ack' in p ? [p.ack] : []));
  let results: Map<string, string>;
  try {
    results = acks.length ? await applyAcknowledgements(store, acks, logger, options) : new Map();
  } catch (e) {
    const reason = describeError(e);
    logger.warn('acknowledgements not applied; they will be redelivered', { count: acks.length, error: reason });
    return parsed.map((p) => ('ack' in p ? { action: 'abandon', reason } : { action: 'deadLetter', reason: p.problem }));
  }
  return parsed.map((p) => {
    if (!('ack' in p)) {
      logger.warn('malformed acknowledgement dead-lettered', { problem: p.problem });
      return { action: 'deadLetter', reason: p.problem };
    }
    const r = results.get(p.ack.outboxId);
    logger.debug('acknowledgement', { rowId: p.ack.outboxId, messageId: p.ack.messageId, outcome: p.ack.outcome, result: r });
    if (r === 'not-found') logger.warn('acknowledgement for an unknown row', { rowId: p.ack.outboxId, messageId: p.ack.messageId });
    return { action: 'complete' };
  });
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
      try {
        // Aborted by close(): an empty wait would otherwise hold close() for up to maxWaitTimeInMs.
        messages = await receiver.receiveMessages(this.options.maxMessageCount ?? 250, { maxWaitTimeInMs: this.options.maxWaitTimeInMs ?? 5000, abortSignal: this.stop.signal });
        receiveFailures = 0;
      } catch (e) {
        if (this.stopping) break;
        receiveFailures++;
        this.logger.warn('ack listener error; retrying', { queue: this.queue, error: describeError(e) });
        await this.pause(receiveFailures);
        continue;
      }
      if (messages.length === 0) continue;
      const batch = this.settle(receiver, messages).finally(() => this.inFlight.delete(batch));
      this.inFlight.add(batch);
    }
    await Promise.all(this.inFlight);
  }

  /** Applies one batch to Dataverse, then settles each message; never throws. */
  private async settle(receiver: ServiceBusReceiver, messages: ServiceBusReceivedMessage[]): Promise<void> {
    try {
      const dispositions = await processAckMessages(this.store, messages.map((m) => m.body), this.logger);
      const abandoned = dispositions.some((d) => d.action === 'abandon');
      this.failures = abandoned ? this.failures + 1 : 0;
      await Promise.all(
        messages.map((m, i) => {
          const d = dispositions[i]!;
          if (d.action === 'complete') return receiver.completeMessage(m);
          if (d.action === 'deadLetter') return receiver.deadLetterMessage(m, { deadLetterReason: 'MalformedAcknowledgement', deadLetterErrorDescription: d.reason });
          return receiver.abandonMessage(m);
        }),
      );
    } catch (e) {
      // Settling failed (lock lost, connection gone): the messages come back and are applied again, harmlessly.
      if (!this.stopping) this.logger.warn('ack listener could not settle acknowledgements; they will be redelivered', { queue: this.queue, error: describeError(e) });
    }
  }

  private pause(failures: number): Promise<void> {
    return sleep(Math.min(30_000, 500 * 2 ** Math.min(failures, 6)), undefined, { signal: this.stop.signal }).catch(() => undefined);
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
