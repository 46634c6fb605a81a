// A downstream consumer for benchmarks that must prove order per key and exactly-once effect on every message: it
// receives a session queue with the official SDK (session loops: accept the next session, take its messages in order,
// let it go when idle, as the consumer toolkit does), checks that each key's payload counter goes 0, 1, 2, ... with no
// gap and no repeat, and acknowledges every message as the consumer toolkit does (acknowledgement batch messages).
import { randomUUID } from 'node:crypto';
import type { ServiceBusClient, ServiceBusReceivedMessage, ServiceBusSender } from '@azure/service-bus';
import { acknowledgementBatchSubject, MessageProperties, toAcknowledgementMessages } from '@dataverse-outbox/contract';

export interface SessionConsumerOptions {
  /** Session loops at once. Default 8. */
  concurrency?: number;
  /** Where acknowledgements go; none: no acknowledgements. */
  ackQueue?: string;
  /** Messages taken per receive. Default 200. */
  maxMessageCount?: number;
}

export interface KeyCheck {
  keys: number;
  expected: number;
  received: number;
  /** Keys whose messages all arrived, in order, each once. */
  keysComplete: number;
  /** Messages whose counter had been seen before for its key (a repeat). */
  repeats: number;
  /** Messages whose counter skipped ahead of the next expected one (a gap or a reordering). */
  gaps: number;
  /** Messages of keys nobody expected. */
  unexpected: number;
  /** The first few problems, for the report. */
  problems: string[];
  /** Receives that failed (e.g. a session lock lost); not a failed check by themselves. */
  receiveErrors: number;
  ok: boolean;
}

const MAX_PROBLEMS = 20;
/**
 * A busy key never idles, so a loop lets its session go after this long and takes the next one: well inside the
 * session lock (30 s), which is then never renewed, and every key gets its turn.
 */
const MAX_SESSION_HOLD_MS = 10_000;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** The payload counter of a message whose body is `{ key, n, ... }` (decoded by the SDK, or raw JSON bytes). */
function counterOf(m: ServiceBusReceivedMessage): number | undefined {
  let body: unknown = m.body;
  if (body instanceof Uint8Array) body = JSON.parse(Buffer.from(body).toString('utf8')) as unknown;
  else if (typeof body === 'string') body = JSON.parse(body) as unknown;
  const n = (body as { n?: unknown } | undefined)?.n;
  return typeof n === 'number' ? n : undefined;
}

/**
 * Give the consumer a ServiceBusClient with a short operation timeout (e.g. `retryOptions: { timeoutInMs: 2000 }`): an
 * idle session loop waits that long for a session with messages.
 */
export class VerifyingSessionConsumer {
  private readonly next = new Map<string, number>();
  private readonly expected = new Map<string, number>();
  private readonly problems: string[] = [];
  private sender?: ServiceBusSender;
  private loops: Promise<void>[] = [];
  private readonly stopSignal = new AbortController();
  received = 0;
  acknowledged = 0;
  repeats = 0;
  gaps = 0;
  unexpected = 0;
  receiveErrors = 0;
  readonly receiveErrorSamples: string[] = [];

  constructor(
    private readonly serviceBus: ServiceBusClient,
    private readonly queue: string,
    private readonly options: SessionConsumerOptions = {},
  ) {}

  /** Registers a key and how many messages it must receive (counters 0 .. count-1). */
  expect(key: string, count: number): void {
    this.expected.set(key, count);
    if (!this.next.has(key)) this.next.set(key, 0);
  }

  start(): void {
    if (this.options.ackQueue) this.sender = this.serviceBus.createSender(this.options.ackQueue);
    this.loops = Array.from({ length: this.options.concurrency ?? 8 }, () => this.sessionLoop());
  }

  /** Messages received for the given keys so far. */
  receivedFor(keys: Iterable<string>): number {
    let n = 0;
    for (const k of keys) n += this.next.get(k) ?? 0;
    return n;
  }

  private problem(text: string): void {
    if (this.problems.length < MAX_PROBLEMS) this.problems.push(text);
  }

  private take(messages: readonly ServiceBusReceivedMessage[]): void {
    for (const m of messages) {
      this.received++;
      const key = m.sessionId ?? '';
      const n = counterOf(m);
      const next = this.next.get(key);
      if (next === undefined || !this.expected.has(key)) {
        this.unexpected++;
        this.problem(`unexpected message ${String(m.messageId)} of key '${key}'`);
        continue;
      }
      if (n === next) {
        this.next.set(key, next + 1);
      } else if (n !== undefined && n < next) {
        this.repeats++;
        this.problem(`key ${key}: counter ${n} again after ${next - 1}`);
      } else {
        this.gaps++;
        this.problem(`key ${key}: counter ${String(n)} where ${next} was next`);
        if (n !== undefined) this.next.set(key, n + 1);
      }
    }
  }

  private async acknowledge(messages: readonly ServiceBusReceivedMessage[]): Promise<void> {
    if (!this.sender || messages.length === 0) return;
    const processedAt = new Date();
    const acks = messages.map((m) => ({
      outboxId: String(m.applicationProperties?.[MessageProperties.outboxId] ?? ''),
      messageId: String(m.applicationProperties?.[MessageProperties.outboxMessageId] ?? m.messageId),
      outcome: 'processed' as const,
      processedAt,
    }));
    // As the consumer toolkit sends them: batch messages (a unique message id each), a lone ack in the single form.
    for (const message of toAcknowledgementMessages(acks)) {
      await this.sender.sendMessages(message.subject === acknowledgementBatchSubject ? { ...message, messageId: randomUUID() } : message);
    }
    this.acknowledged += acks.length;
  }

  private async sessionLoop(): Promise<void> {
    const stop = this.stopSignal.signal;
    while (!stop.aborted) {
      let receiver;
      try {
        // No session with messages shows up as a timeout (the client's operation timeout, which the broker honours):
        // no client-side timeout here, since an accept given up by the client may still be granted a session that then
        // stays locked to nobody until its lock expires.
        receiver = await this.serviceBus.acceptNextSession(this.queue, { receiveMode: 'receiveAndDelete', maxAutoLockRenewalDurationInMs: 0 });
      } catch {
        if (!stop.aborted) await sleep(20);
        continue;
      }
      const acceptedAt = performance.now();
      try {
        // Drain the session until it is idle (or held long enough): each message is checked in the order Service Bus
        // delivered it.
        while (performance.now() - acceptedAt < MAX_SESSION_HOLD_MS) {
          const batch = await receiver.receiveMessages(this.options.maxMessageCount ?? 200, { maxWaitTimeInMs: 250 });
          if (batch.length === 0) break;
          this.take(batch);
          await this.acknowledge(batch);
        }
      } catch (e) {
        // A lost session is let go and taken again by the next loop: what was delivered has been checked, what was not
        // is still in the queue. Counted and reported; a message really lost shows up as a gap or a missing message.
        if (!stop.aborted) {
          this.receiveErrors++;
          if (this.receiveErrorSamples.length < 5) this.receiveErrorSamples.push(`${e instanceof Error ? e.message : String(e)} (session held ${Math.round(performance.now() - acceptedAt)} ms)`);
        }
      } finally {
        await receiver.close().catch(() => undefined);
      }
    }
  }

  /** The check of the given keys (all registered keys by default). */
  check(keys: Iterable<string> = this.expected.keys()): KeyCheck {
    let expected = 0;
    let received = 0;
    let complete = 0;
    let count = 0;
    for (const key of keys) {
      count++;
      const want = this.expected.get(key) ?? 0;
      const got = this.next.get(key) ?? 0;
      expected += want;
      received += got;
      if (got === want) complete++;
      else if (got < want) this.problem(`key ${key}: ${got} of ${want} messages arrived`);
      else this.problem(`key ${key}: counter reached ${got}, ${want} expected`);
    }
    const ok = complete === count && this.repeats === 0 && this.gaps === 0 && this.unexpected === 0;
    return { keys: count, expected, received, keysComplete: complete, repeats: this.repeats, gaps: this.gaps, unexpected: this.unexpected, problems: [...this.problems], receiveErrors: this.receiveErrors, ok };
  }

  async stop(): Promise<void> {
    this.stopSignal.abort();
    // A loop may be waiting for a session (up to the client's operation timeout) or a receive: the loops end for good
    // when the caller closes the client. (The SDK keeps a listener per call on an abort signal, so none is passed.)
    await Promise.race([Promise.all(this.loops), sleep(1000)]);
    await this.sender?.close().catch(() => undefined);
  }
}
