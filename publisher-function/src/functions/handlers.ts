// Azure Functions v4 handlers: a timer that runs publish cycles within its invocation budget, a Service Bus trigger
// for acknowledgements, a timer for the dead-letter monitor, an HTTP health endpoint, and the canary's timer and
// responder. The definitions are data so tests can invoke exactly what index.ts registers.
import type { HttpRequest, HttpResponseInit, InvocationContext, ServiceBusQueueFunctionOptions, Timer, TimerFunctionOptions, HttpFunctionOptions } from '@azure/functions';
import type { PublisherHost } from '../bootstrap';
import { describeError, isOutboxError } from '../core/errors';
import { redactSecrets } from '../core/redact';
import { processAckMessages } from '../servicebus/ackListener';
import { canaryAcknowledgement, MessageProperties, toAcknowledgementMessage } from '@dataverse-outbox/contract';
import { sendCanary } from '../canary';
import { loggerFromContext } from '../telemetry';
import { functionsHostConfig, getHost } from './host';

function logSettingsProblem(ctx: InvocationContext, e: unknown): void {
  // A clear message in the invocation log; the timer keeps its schedule (no crash loop) until the settings are fixed.
  ctx.error(redactSecrets(isOutboxError(e) && e.code === 'InvalidSettings' ? `Outbox publisher not started. ${e.message}` : `Outbox publisher error: ${describeError(e)}`));
}

export const publishTimer: TimerFunctionOptions = {
  schedule: '0 * * * * *',
  runOnStartup: false,
  useMonitor: false,
  handler: async (_timer: Timer, ctx: InvocationContext): Promise<void> => {
    let h: PublisherHost;
    try {
      h = getHost();
      await h.publisher.loadSettings();
    } catch (e) {
      logSettingsProblem(ctx, e);
      throw e;
    }
    const r = await h.publisher.runFor(functionsHostConfig().publishBudgetInMs, { untilDeadline: true });
    // The Functions host has no long-lived timer of its own: each invocation measures the stall gauge once.
    const oldestPendingAgeSeconds = await h.publisher.measurePendingAge();
    ctx.log(JSON.stringify({ message: 'publish run', ...r, oldestPendingAgeSeconds }));
    if (r.outcome === 'error') throw new Error(`publish run failed: ${r.error}`);
  },
};

export const acknowledgements: ServiceBusQueueFunctionOptions = {
  connection: 'SERVICEBUS_CONNECTION_STRING',
  queueName: '%OUTBOX_ACK_QUEUE%',
  cardinality: 'many',
  handler: async (messages: unknown, ctx: InvocationContext): Promise<void> => {
    const bodies = Array.isArray(messages) ? messages : [messages];
    const h = getHost();
    const dispositions = await processAckMessages(h.publisher.store, bodies, loggerFromContext(ctx));
    // The trigger settles the batch as a whole (no per-message dead-lettering without SDK-type bindings): poison acks
    // are logged with their reason code and completed with the batch; they can never be applied, and no good ack
    // shares their fate, because applying is decided per ack.
    const bad = dispositions.flatMap((d, i) => (d.action === 'deadLetter' ? [`#${i} ${d.reason}: ${d.description}`] : []));
    if (bad.length) ctx.warn(`${bad.length} acknowledgement(s) that can never be applied, dropped: ${bad.join('; ')}`);
    const retry = dispositions.find((d) => d.action === 'abandon');
    // Throwing abandons the whole batch: it is redelivered, and applying acks again is harmless (final rows stay).
    if (retry) throw new Error(`acknowledgements not applied yet: ${retry.action === 'abandon' ? retry.reason : ''}`);
  },
};

export const deadLetterMonitor: TimerFunctionOptions = {
  schedule: '30 */5 * * * *',
  runOnStartup: false,
  useMonitor: false,
  handler: async (_timer: Timer, ctx: InvocationContext): Promise<void> => {
    const results = await getHost().publisher.monitorDeadLetters();
    ctx.log(JSON.stringify({ message: 'dead-letter monitor', results }));
    const failed = results.filter((r) => r.error);
    if (failed.length) ctx.warn(`dead-letter monitor: ${failed.map((r) => `${r.target}: ${r.error}`).join('; ')}`);
  },
};

/**
 * The scheduled canary (issue 21): off unless OUTBOX_CANARY_TARGET names the canary queue (listed in obx_AllowedTargets,
 * with a canary responder on it). Every 5 minutes it writes one canary row, so a broken path shows even when business
 * traffic is quiet: the stall alert fires on the canary's age, and health's lastCanary stops advancing.
 */
export const canaryTimer: TimerFunctionOptions = {
  schedule: '15 */5 * * * *',
  runOnStartup: false,
  useMonitor: false,
  handler: async (_timer: Timer, ctx: InvocationContext): Promise<void> => {
    const target = process.env.OUTBOX_CANARY_TARGET?.trim();
    if (!target) return;
    const sent = await sendCanary(getHost().dataverse, target);
    ctx.log(JSON.stringify({ message: 'canary sent', target, ...sent }));
  },
};

/**
 * The canary responder of a deployment (issue 21): answers each canary on OUTBOX_CANARY_QUEUE with the normal
 * `processed` acknowledgement (the contract's canaryAcknowledgement, as the consumer toolkit's responder), applied here
 * through the publisher's own ack processing, so the row becomes Acked as a consumer's ack would make it. Anything else
 * is refused: the invocation throws naming the reason, so the message is redelivered and, after the queue's
 * maxDeliveryCount, dead-lettered by Service Bus (a trigger without SDK-type bindings cannot dead-letter itself), seen,
 * never acknowledged as something it is not.
 */
export const canaryResponder: ServiceBusQueueFunctionOptions = {
  connection: 'SERVICEBUS_CONNECTION_STRING',
  queueName: '%OUTBOX_CANARY_QUEUE%',
  cardinality: 'one',
  handler: async (_message: unknown, ctx: InvocationContext): Promise<void> => {
    const meta = ctx.triggerMetadata ?? {};
    const props = (meta.applicationProperties ?? {}) as Record<string, unknown>;
    const answer = canaryAcknowledgement({ outboxId: props[MessageProperties.outboxId], outboxMessageId: props[MessageProperties.outboxMessageId], eventType: meta.subject ?? meta.label }, new Date());
    if (!answer.ok) {
      const why = `${answer.reason}: ${answer.description} (messageId ${String(meta.messageId)})`;
      ctx.error(`canary refused, ${why}`);
      throw new Error(why);
    }
    const [d] = await processAckMessages(getHost().publisher.store, [toAcknowledgementMessage(answer.ack).body], loggerFromContext(ctx));
    if (d?.action === 'abandon') throw new Error(`canary acknowledgement not applied yet: ${d.reason}`);
    if (d?.action === 'deadLetter') ctx.warn(`canary acknowledgement can never be applied, dropped: ${d.reason}: ${d.description}`);
    else ctx.log(JSON.stringify({ message: 'canary acknowledged', outboxId: answer.ack.outboxId, messageId: answer.ack.messageId }));
  },
};

export const health: HttpFunctionOptions = {
  methods: ['GET'],
  authLevel: 'function',
  route: 'outbox/health',
  handler: async (_req: HttpRequest, ctx: InvocationContext): Promise<HttpResponseInit> => {
    try {
      const h = await getHost().publisher.health();
      return { status: h.level === 'red' ? 503 : 200, jsonBody: h, headers: { 'Cache-Control': 'no-store' } };
    } catch (e) {
      logSettingsProblem(ctx, e);
      // The body may be read by an availability probe or a browser: never a secret from a bad setting.
      return { status: 503, jsonBody: { level: 'red', reasons: [redactSecrets(isOutboxError(e) ? e.message : `health check failed: ${describeError(e)}`)] }, headers: { 'Cache-Control': 'no-store' } };
    }
  },
};

/** What index.ts registers: [name, trigger, options]. */
export const outboxFunctions = [
  ['outboxPublish', 'timer', publishTimer],
  ['outboxAcknowledgements', 'serviceBusQueue', acknowledgements],
  ['outboxDeadLetterMonitor', 'timer', deadLetterMonitor],
  ['outboxHealth', 'http', health],
  ['outboxCanary', 'timer', canaryTimer],
  ['outboxCanaryResponder', 'serviceBusQueue', canaryResponder],
] as const;
