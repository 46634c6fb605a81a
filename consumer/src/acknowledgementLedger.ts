// The consumer's side of "every row ends Acked": the inbox remembers which acknowledgements reached obx_AckQueue.
// The effect commits first and the acknowledgement is sent after the message is completed, so a crash in between
// would leave the outbox row Published for ever. Recording sent acknowledgements (in batches, off the hot path) and
// sweeping the inbox for entries never recorded closes that window: such entries are acknowledged again. Sending an
// acknowledgement twice is harmless (the publisher applies it once, and never moves a final row).
import { isGuid, normaliseGuid, type Acknowledgement } from '@dataverse-outbox/contract';

import type { InboxEntry, InboxStore } from './inbox';

export interface AcknowledgementSweepOptions {
  /** How often the inbox is swept for entries whose acknowledgement was never recorded. Default 60000. */
  intervalInMs?: number;
  /** Entries younger than this are left to the live path (their acknowledgement may be on its way). Default 60000. */
  graceInMs?: number;
  /** Entries acknowledged again per sweep at most. Default 500. */
  batchSize?: number;
}

export interface AcknowledgementLedgerDeps {
  inbox: InboxStore<unknown>;
  send: (ack: Acknowledgement) => Promise<void>;
  onError: (error: unknown, what: 'record' | 'sweep') => void;
  onResent?: (entries: readonly InboxEntry[]) => void;
}

/** Batches "acknowledgement sent" records, and re-sends acknowledgements the inbox has no record of. */
export class AcknowledgementLedger {
  private pending = new Set<string>();
  private flushing: Promise<void> | undefined;
  private firstSweepTimer: NodeJS.Timeout | undefined;
  private sweepTimer: NodeJS.Timeout | undefined;
  private sweeping: Promise<number> | undefined;
  private readonly intervalInMs: number;
  private readonly graceInMs: number;
  private readonly batchSize: number;

  constructor(
    private readonly deps: AcknowledgementLedgerDeps,
    options: AcknowledgementSweepOptions = {},
  ) {
    this.intervalInMs = options.intervalInMs ?? 60_000;
    this.graceInMs = options.graceInMs ?? 60_000;
    this.batchSize = options.batchSize ?? 500;
    for (const [name, value] of [['intervalInMs', this.intervalInMs], ['graceInMs', this.graceInMs], ['batchSize', this.batchSize]] as const) {
      if (!Number.isInteger(value) || value < 1) throw new RangeError(`acknowledgementSweep.${name} must be a positive integer, got ${value}`);
    }
  }

  /** Starts sweeping: once soon after start (a previous process may have died between commit and acknowledgement), then periodically. */
  start(): void {
    this.firstSweepTimer = setTimeout(() => void this.sweepQuietly(), Math.min(this.graceInMs, this.intervalInMs));
    this.firstSweepTimer.unref();
    this.sweepTimer = setInterval(() => void this.sweepQuietly(), this.intervalInMs);
    this.sweepTimer.unref();
  }

  /** The acknowledgement of this inbox entry reached the queue. */
  recordSent(outboxMessageId: string): void {
    this.pending.add(outboxMessageId);
    if (this.pending.size >= 200) void this.flush();
    else if (!this.flushing) this.flushing = delay(250).then(() => this.flushNow());
  }

  /** Writes the pending records now. */
  async flush(): Promise<void> {
    await this.flushing;
    await this.flushNow();
  }

  private async flushNow(): Promise<void> {
    this.flushing = undefined;
    if (this.pending.size === 0) return;
    const ids = [...this.pending];
    this.pending = new Set();
    try {
      await this.deps.inbox.markAcknowledged(ids);
    } catch (error) {
      // Not recorded: the sweep will acknowledge these entries again, which is harmless.
      this.deps.onError(error, 'record');
    }
  }

  /** One sweep: acknowledges again the entries older than the grace period that have no record. Returns how many. */
  sweep(): Promise<number> {
    this.sweeping ??= this.runSweep().finally(() => (this.sweeping = undefined));
    return this.sweeping;
  }

  private async sweepQuietly(): Promise<void> {
    try {
      await this.sweep();
    } catch (error) {
      this.deps.onError(error, 'sweep');
    }
  }

  private async runSweep(): Promise<number> {
    await this.flush();
    const entries = await this.deps.inbox.listUnacknowledged({ processedBefore: new Date(Date.now() - this.graceInMs), limit: this.batchSize });
    const sent: InboxEntry[] = [];
    // Entries without a GUID row id (a message without a usable outbox-id) have nothing the publisher could match:
    // recorded as done, never sent (they would only be dead-lettered by the publisher).
    const unmatchable = entries.filter((e) => !isGuid(e.outboxId)).map((e) => e.outboxMessageId);
    try {
      if (unmatchable.length > 0) await this.deps.inbox.markAcknowledged(unmatchable);
      // All handed over at once, so the consumer's sender puts them in a few messages rather than one send each.
      const sendable = entries.filter((e) => isGuid(e.outboxId));
      const results = await Promise.allSettled(
        sendable.map((entry) =>
          this.deps.send({
            outboxId: normaliseGuid(entry.outboxId)!,
            messageId: entry.outboxMessageId,
            outcome: 'processed',
            processedAt: entry.processedAt,
          }),
        ),
      );
      results.forEach((r, i) => r.status === 'fulfilled' && sent.push(sendable[i]!));
      const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (failed) throw failed.reason;
    } finally {
      // What was sent is recorded, also when another send failed; the rest waits for the next sweep.
      if (sent.length > 0) {
        await this.deps.inbox.markAcknowledged(sent.map((e) => e.outboxMessageId));
        this.deps.onResent?.(sent);
      }
    }
    return sent.length;
  }

  /** Stops sweeping and writes the pending records. */
  async close(): Promise<void> {
    clearTimeout(this.firstSweepTimer);
    clearInterval(this.sweepTimer);
    await this.sweeping?.catch(() => undefined);
    await this.flush();
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}
