// Service Bus side of the core's sender port: one SDK sender per target, createMessageBatch to pack as many
// messages per send as the entity allows, and error classification (permanent vs transient). Given a client factory
// it owns its client and replaces it when the client stops sending (see ServiceBusMessageSender).
import { describeValue } from '@dataverse-outbox/contract';
import { isServiceBusError, type ServiceBusClient, type ServiceBusMessage, type ServiceBusSender } from '@azure/service-bus';
import type { OutboundMessage } from '../core/mapping';
import type { Logger, MessageSenderPort, OperationOptions, SendOutcome } from '../core/ports';
import { silentLogger, TargetUnavailableError } from '../core/ports';

/** Service Bus error codes that no retry can fix for this message or target. */
const PERMANENT_TARGET = new Set(['MessagingEntityNotFound']);
const PERMANENT_MESSAGE = new Set(['MessageSizeExceeded']);

export function classifySendError(e: unknown, target: string): { code: string; permanent: boolean; reason: string } {
  const code = isServiceBusError(e) ? e.code : ((e as { code?: unknown })?.code as string | undefined) ?? 'SendFailed';
  const message = e instanceof Error ? e.message : String(e);
  if (PERMANENT_TARGET.has(code)) {
    return { code, permanent: true, reason: `Service Bus entity "${target}" does not exist (MessagingEntityNotFound). Create the queue or topic, or fix obx_target, then retry the row.` };
  }
  if (PERMANENT_MESSAGE.has(code)) return { code, permanent: true, reason: `Message too large for "${target}" (MessageSizeExceeded): ${message}` };
  return { code, permanent: false, reason: `${code}: ${message}` };
}

/**
 * The SDK could not encode the message (a body nested too deeply overflows the AMQP encoder, a property of the wrong
 * shape): permanent for this message only. The reason names the failure, never the body.
 */
function encodingFailure(e: unknown): SendOutcome {
  const message = e instanceof Error ? e.message : String(e);
  // The SDK wraps the RangeError of JSON.stringify / the AMQP encoder; neither message is quoted (it may hold body text).
  const tooDeep = e instanceof RangeError || /call stack|JSON\.stringify/i.test(message);
  const what = tooDeep ? 'the body is nested too deeply for the encoder' : `${e instanceof Error ? e.name : 'error'}: ${describeValue(message)}`;
  return { ok: false, permanent: true, code: 'EncodingFailed', reason: `The message could not be encoded for Service Bus (${what}). Fix the producer, then retry or cancel the row.` };
}

function toSdkMessage(m: OutboundMessage): ServiceBusMessage {
  const msg: ServiceBusMessage = { messageId: m.messageId, body: m.body, contentType: m.contentType, applicationProperties: { ...m.applicationProperties } };
  if (m.subject !== undefined) msg.subject = m.subject;
  if (m.correlationId !== undefined) msg.correlationId = m.correlationId;
  if (m.sessionId !== undefined) msg.sessionId = m.sessionId;
  return msg;
}

export interface ServiceBusMessageSenderOptions {
  /**
   * Longest wait for one batch creation or send, whatever the SDK's own retries do; then the send counts as a
   * transient failure (the rows retry with the same messageId, so a send that did land is deduplicated). Default 30 s.
   */
  operationTimeoutInMs?: number;
  /** Where a client replacement is reported (once per replacement). Default: nowhere. */
  logger?: Logger;
  /** Longest wait for a replaced client to close before it is left to the garbage collector. Default 5 s. */
  retireTimeoutInMs?: number;
}

/** Makes a new Service Bus client; the sender owns what it makes (closes it when replaced or closed). */
export type ServiceBusClientFactory = () => ServiceBusClient;

/**
 * Failures (without a success between) after which an owned client is replaced, once they have lasted at least the
 * operation deadline. A client whose connection the SDK lost and never re-opened (after a process pause while Service
 * Bus dropped it, docs/reliability.md finding 4) fails this way for minutes; a fresh client connects at once.
 */
const REPLACE_AFTER_FAILURES = 3;

/** Codes that say the broker answered (throttling, a message or entity problem): no sign of a dead connection. */
const BROKER_ANSWERED = new Set(['ServiceBusy', 'QuotaExceeded', 'MessageSizeExceeded', 'MessagingEntityNotFound', 'MessagingEntityDisabled', 'UnauthorizedAccess', 'EncodingFailed']);

/** How long a cycle waits for a check of a target that was down before it reports the target still unavailable. */
const DOWN_CHECK_WAIT_IN_MS = 250;

class SendTimeoutError extends Error {
  readonly code = 'ServiceTimeout';
}

/** Races an SDK call against a deadline, aborting it when the deadline passes. */
async function withDeadline<T>(ms: number, outer: AbortSignal | undefined, what: string, run: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const controller = new AbortController();
  const onAbort = (): void => controller.abort();
  outer?.addEventListener('abort', onAbort, { once: true });
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      run(controller.signal),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => {
          controller.abort();
          reject(new SendTimeoutError(`${what} did not complete within ${ms} ms`));
        }, ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
    outer?.removeEventListener('abort', onAbort);
  }
}

/**
 * Sends through one Service Bus client. Given a ServiceBusClient, it sends through it and never closes or replaces it
 * (others share it: the acknowledgement listener, the dead-letter monitor). Given a factory, it owns its client: it
 * makes it at the first use, closes it on close(), and replaces it when an operation hits the deadline or the client
 * keeps failing without answers from the broker for longer than the deadline (the old one is closed in the background,
 * for at most `retireTimeoutInMs`: a wedged client's close may never finish).
 */
export class ServiceBusMessageSender implements MessageSenderPort {
  private readonly senders = new Map<string, ServiceBusSender>();
  private readonly maxSizes = new Map<string, number>();
  /**
   * Targets whose last check failed transiently. While one is down, a check fails at once with that error and looks
   * again in the background: the SDK's own retries (seconds) never stall a publish cycle, and the other targets' and
   * keys' rows of that cycle, a second time.
   */
  private readonly down = new Map<string, { error: TargetUnavailableError; checking?: Promise<number | undefined> }>();
  private readonly timeoutInMs: number;
  private readonly retireTimeoutInMs: number;
  private readonly logger: Logger;
  private readonly factory?: ServiceBusClientFactory;
  private current?: ServiceBusClient;
  /** Bumped at each replacement: a failure of an operation on an older client replaces nothing. */
  private generation = 0;
  /** Failures without answers from the broker since the last success (on the current client). */
  private failing?: { since: number; count: number };
  /** Replaced clients still closing. */
  private readonly retiring = new Set<Promise<void>>();
  /** How many times the client was replaced (tests, health). */
  replacements = 0;

  constructor(client: ServiceBusClient | ServiceBusClientFactory, options: ServiceBusMessageSenderOptions = {}) {
    if (typeof client === 'function') this.factory = client;
    else this.current = client;
    this.timeoutInMs = options.operationTimeoutInMs ?? 30_000;
    this.retireTimeoutInMs = options.retireTimeoutInMs ?? 5000;
    this.logger = options.logger ?? silentLogger;
  }

  private get client(): ServiceBusClient {
    this.current ??= this.factory!();
    return this.current;
  }

  private sender(target: string): ServiceBusSender {
    let s = this.senders.get(target);
    if (!s) {
      s = this.client.createSender(target);
      this.senders.set(target, s);
    }
    return s;
  }

  /** An operation of `generation` succeeded: the client works. */
  private succeeded(generation: number): void {
    if (generation === this.generation) this.failing = undefined;
  }

  /**
   * An operation of `generation` failed: replaces an owned client when it hit the deadline, or when failures with no
   * answer from the broker have gone on for longer than the deadline.
   */
  private failed(generation: number, e: unknown, target: string): void {
    // An abort by the caller (a stop) says nothing about the client.
    if (!this.factory || generation !== this.generation || (e instanceof Error && e.name === 'AbortError')) return;
    const timedOut = e instanceof SendTimeoutError;
    const code = classifySendError(e, target).code;
    if (!timedOut && (BROKER_ANSWERED.has(code) || e instanceof RangeError)) {
      this.failing = undefined; // the broker answered: the connection works
      return;
    }
    const now = Date.now();
    this.failing ??= { since: now, count: 0 };
    this.failing.count++;
    const stuck = this.failing.count >= REPLACE_AFTER_FAILURES && now - this.failing.since >= this.timeoutInMs;
    if (timedOut || stuck) this.replaceClient(timedOut ? 'an operation hit the deadline' : 'it kept failing', target, code);
  }

  private replaceClient(why: string, target: string, code: string): void {
    const old = this.current;
    this.generation++;
    this.replacements++;
    this.failing = undefined;
    this.current = undefined;
    // The old client's senders go with it (closing it closes them); the next use attaches new ones on a new client.
    this.senders.clear();
    this.maxSizes.clear();
    this.down.clear();
    this.logger.warn('Service Bus client replaced', { reason: why, target, code, replacements: this.replacements, deadlineInMs: this.timeoutInMs });
    if (old) this.retire(old);
  }

  /** Closes a replaced client in the background, waiting for it at most retireTimeoutInMs. */
  private retire(old: ServiceBusClient): void {
    const closing: Promise<void> = this.bounded(
      old.close().catch((e: unknown) => this.logger.debug('replaced Service Bus client closed with an error', { error: e instanceof Error ? e.name : 'error' })),
    ).finally(() => this.retiring.delete(closing));
    this.retiring.add(closing);
  }

  private async dropSender(target: string): Promise<void> {
    const s = this.senders.get(target);
    this.senders.delete(target);
    this.maxSizes.delete(target);
    // A link on a dead connection may never confirm its close: the cycle does not wait for it beyond the bound.
    if (s) await this.bounded(s.close().catch(() => undefined));
  }

  /** Waits for `closing` at most retireTimeoutInMs. */
  private async bounded(closing: Promise<void>): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      closing,
      new Promise<void>((resolve) => {
        timer = setTimeout(resolve, this.retireTimeoutInMs);
        timer.unref();
      }),
    ]);
    clearTimeout(timer);
  }

  async maxMessageSizeInBytes(target: string, options: OperationOptions = {}): Promise<number> {
    const known = this.maxSizes.get(target);
    if (known !== undefined) return known;
    const down = this.down.get(target);
    if (down) {
      down.checking ??= this.check(target).then(
        (size) => {
          this.down.delete(target);
          return size;
        },
        (e: unknown) => {
          down.checking = undefined;
          if (e instanceof TargetUnavailableError) down.error = e;
          return undefined;
        },
      );
      // A target that is back answers at once; one still down costs this cycle at most a short wait.
      const size = await Promise.race([down.checking, new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), DOWN_CHECK_WAIT_IN_MS).unref())]);
      if (size !== undefined) return size;
      throw down.error;
    }
    try {
      return await this.check(target, options);
    } catch (e) {
      if (e instanceof TargetUnavailableError && !e.permanent) this.down.set(target, { error: e });
      throw e;
    }
  }

  /** Attaches a sender to the target and learns its max message size; TargetUnavailableError when it cannot. */
  private async check(target: string, options: OperationOptions = {}): Promise<number> {
    const generation = this.generation;
    try {
      const sender = this.sender(target);
      const batch = await withDeadline(this.timeoutInMs, options.abortSignal, `createMessageBatch for "${target}"`, (abortSignal) => sender.createMessageBatch({ abortSignal }));
      this.succeeded(generation);
      if (generation === this.generation) this.maxSizes.set(target, batch.maxSizeInBytes);
      return batch.maxSizeInBytes;
    } catch (e) {
      const c = classifySendError(e, target);
      this.failed(generation, e, target);
      if (generation === this.generation) await this.dropSender(target);
      throw new TargetUnavailableError(target, c.code, c.permanent, c.reason);
    }
  }

  async send(target: string, messages: readonly OutboundMessage[], options: OperationOptions = {}): Promise<SendOutcome[]> {
    const outcomes: SendOutcome[] = [];
    const generation = this.generation;
    const sender = this.sender(target);
    let index = 0;
    try {
      while (index < messages.length) {
        const batch = await withDeadline(this.timeoutInMs, options.abortSignal, `createMessageBatch for "${target}"`, (abortSignal) => sender.createMessageBatch({ abortSignal }));
        const inBatch: number[] = [];
        const tooLarge: number[] = [];
        while (index < messages.length) {
          // Each message is encoded on its own: one the encoder refuses fails alone and the batch goes on.
          let added: boolean;
          try {
            added = batch.tryAddMessage(toSdkMessage(messages[index]!));
          } catch (e) {
            outcomes[index++] = encodingFailure(e);
            continue;
          }
          if (added) {
            inBatch.push(index++);
          } else if (batch.count === 0) {
            // Does not fit even alone: a permanent failure for this message only.
            tooLarge.push(index++);
            break;
          } else {
            break;
          }
        }
        if (batch.count > 0) await withDeadline(this.timeoutInMs, options.abortSignal, `send to "${target}"`, (abortSignal) => sender.sendMessages(batch, { abortSignal }));
        this.succeeded(generation);
        for (const i of inBatch) outcomes[i] = { ok: true };
        for (const i of tooLarge) {
          outcomes[i] = {
            ok: false,
            permanent: true,
            code: 'MessageSizeExceeded',
            reason: `Message too large for "${target}": it does not fit in an empty batch of ${batch.maxSizeInBytes} bytes.`,
          };
        }
      }
    } catch (e) {
      // This batch and every later one were not sent (order per key forbids sending them past a failure).
      const c = classifySendError(e, target);
      for (let i = 0; i < messages.length; i++) outcomes[i] ??= { ok: false, ...c };
      this.failed(generation, e, target);
      if (generation === this.generation && (c.permanent || !isServiceBusError(e))) await this.dropSender(target);
    }
    return outcomes;
  }

  /** Closes the senders; an owned client is closed too (a shared one stays open: its owner closes it). */
  async close(): Promise<void> {
    await Promise.all([...this.down.values()].map((d) => d.checking));
    this.down.clear();
    const all = [...this.senders.values()];
    this.senders.clear();
    await Promise.all(all.map((s) => this.bounded(s.close().catch(() => undefined))));
    if (this.factory && this.current) {
      const owned = this.current;
      this.current = undefined;
      this.retire(owned);
    }
    await Promise.all([...this.retiring]);
  }
}
