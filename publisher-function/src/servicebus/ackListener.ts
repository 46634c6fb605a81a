// Acknowledgements from consumers (obx_AckQueue): applied to rows in bulk; an ack message is completed only after
// Dataverse has it, and abandoned (redelivered later) when Dataverse cannot be reached.
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
  /** Messages per receive. Default 100. */
  maxMessageCount?: number;
  /** Wait per receive when the queue is empty. Default 5 s. */
  maxWaitTimeInMs?: number;
}

/** Long-running listener for the worker host. */
export class AckListener {
  private receiver?: ServiceBusReceiver;
  private loop?: Promise<void>;
  private stopping = false;
  private readonly logger: Logger;

  constructor(
    private readonly client: ServiceBusClient,
    private readonly store: OutboxStorePort,
    private readonly queue: string,
    private readonly options: AckListenerOptions = {},
  ) {
    this.logger = options.logger ?? silentLogger;
  }

  start(): void {
    if (this.loop) return;
    this.receiver = this.client.createReceiver(this.queue, { receiveMode: 'peekLock' });
    this.loop = this.run();
  }

  private async run(): Promise<void> {
    const receiver = this.receiver!;
    let failures = 0;
    while (!this.stopping) {
      let messages: ServiceBusReceivedMessage[] = [];
      try {
        messages = await receiver.receiveMessages(this.options.maxMessageCount ?? 100, { maxWaitTimeInMs: this.options.maxWaitTimeInMs ?? 5000 });
        if (messages.length === 0) continue;
        const dispositions = await processAckMessages(this.store, messages.map((m) => m.body), this.logger);
        await Promise.all(
          messages.map((m, i) => {
            const d = dispositions[i]!;
            if (d.action === 'complete') return receiver.completeMessage(m);
            if (d.action === 'deadLetter') return receiver.deadLetterMessage(m, { deadLetterReason: 'MalformedAcknowledgement', deadLetterErrorDescription: d.reason });
            return receiver.abandonMessage(m);
          }),
        );
        failures = 0;
      } catch (e) {
        if (this.stopping) break;
        failures++;
        this.logger.warn('ack listener error; retrying', { queue: this.queue, error: describeError(e) });
        await new Promise((r) => setTimeout(r, Math.min(30_000, 500 * 2 ** failures)));
      }
    }
  }

  async close(): Promise<void> {
    this.stopping = true;
    const receiver = this.receiver;
    this.receiver = undefined;
    await receiver?.close().catch(() => undefined);
    await this.loop?.catch(() => undefined);
    this.loop = undefined;
  }
}
