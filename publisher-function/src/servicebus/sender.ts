// Service Bus side of the core's sender port: one SDK sender per target, createMessageBatch to pack as many
// messages per send as the entity allows, and error classification (permanent vs transient).
import { describeValue } from '@dataverse-outbox/contract';
import { isServiceBusError, type ServiceBusClient, type ServiceBusMessage, type ServiceBusSender } from '@azure/service-bus';
import type { OutboundMessage } from '../core/mapping';
import type { MessageSenderPort, OperationOptions, SendOutcome } from '../core/ports';
import { TargetUnavailableError } from '../core/ports';

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
}

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

  constructor(
    private readonly client: ServiceBusClient,
    options: ServiceBusMessageSenderOptions = {},
  ) {
    this.timeoutInMs = options.operationTimeoutInMs ?? 30_000;
  }

  private sender(target: string): ServiceBusSender {
    let s = this.senders.get(target);
    if (!s) {
      s = this.client.createSender(target);
      this.senders.set(target, s);
    }
    return s;
  }

  private async dropSender(target: string): Promise<void> {
    const s = this.senders.get(target);
    this.senders.delete(target);
    this.maxSizes.delete(target);
    await s?.close().catch(() => undefined);
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
    try {
      const sender = this.sender(target);
      const batch = await withDeadline(this.timeoutInMs, options.abortSignal, `createMessageBatch for "${target}"`, (abortSignal) => sender.createMessageBatch({ abortSignal }));
      this.maxSizes.set(target, batch.maxSizeInBytes);
      return batch.maxSizeInBytes;
    } catch (e) {
      const c = classifySendError(e, target);
      await this.dropSender(target);
      throw new TargetUnavailableError(target, c.code, c.permanent, c.reason);
    }
  }

  async send(target: string, messages: readonly OutboundMessage[], options: OperationOptions = {}): Promise<SendOutcome[]> {
    const outcomes: SendOutcome[] = [];
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
      if (c.permanent || !isServiceBusError(e)) await this.dropSender(target);
    }
    return outcomes;
  }

  async close(): Promise<void> {
    await Promise.all([...this.down.values()].map((d) => d.checking));
    this.down.clear();
    const all = [...this.senders.values()];
    this.senders.clear();
    await Promise.all(all.map((s) => s.close().catch(() => undefined)));
  }
}
