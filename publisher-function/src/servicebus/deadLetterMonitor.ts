// Reads the dead-letter queues of the allowed targets, marks the rows DeadLettered with Service Bus's reason and
// description, and only then completes (removes) the dead-lettered message. Each dead letter is decided alone: one
// with a missing, non-GUID or unknown `outbox-id` is logged with its reason and set aside (deferred: it stays in the
// DLQ, visible to peek, but no longer comes back first), so it never stops the others of its target from being recorded.
import { describeValue, MessageProperties, normaliseGuid } from '@dataverse-outbox/contract';
import type { ServiceBusClient, ServiceBusReceivedMessage, ServiceBusReceiver } from '@azure/service-bus';
import { applyDeadLetters, type DeadLetterNotice, type NoticeOutcome } from '../core/ackProcessor';
import { PoisonReasons, type PoisonReason } from '../core/acks';
import { describeError } from '../core/errors';
import type { Logger, OperationOptions, OutboxStorePort, PublisherMetrics } from '../core/ports';
import { silentLogger } from '../core/ports';

export interface DeadLetterMonitorResult {
  target: string;
  received: number;
  markedDeadLettered: number;
  /** Left in the DLQ for the next run (row not marked Published yet, or Dataverse could not take it now). */
  leftInQueue: number;
  /** Dead letters that can never be recorded (missing, non-GUID or unknown outbox-id), set aside in the DLQ, by reason. */
  setAside: Partial<Record<PoisonReason, number>>;
  error?: string;
}

export interface DeadLetterMonitorOptions extends OperationOptions {
  logger?: Logger;
  /** Dead letters set aside are counted here (`outbox.notices.poison`, source `dead-letter`). */
  metrics?: Pick<PublisherMetrics, 'poisonNotice'>;
  /** Per target per run. Default 500. */
  maxMessagesPerTarget?: number;
  maxWaitTimeInMs?: number;
}

type Decision = { kind: 'complete'; applied: boolean } | { kind: 'leave'; error?: string } | { kind: 'setAside'; reason: PoisonReason; why: string };

function decide(id: string, outcome: NoticeOutcome | undefined): Decision {
  switch (outcome?.result) {
    case 'applied':
      return { kind: 'complete', applied: true };
    case 'ignored':
    case 'recorded-early':
      return { kind: 'complete', applied: false };
    case 'not-yet-published':
      return { kind: 'leave' };
    case 'not-found':
      return { kind: 'setAside', reason: PoisonReasons.UnknownOutboxRow, why: `no outbox row ${id}` };
    case 'rejected':
      return { kind: 'setAside', reason: PoisonReasons.RowUpdateRejected, why: outcome.reason };
    case 'retry':
      return { kind: 'leave', error: outcome.reason };
    default:
      return { kind: 'leave', error: 'no result for this dead letter' };
  }
}

/** One receive whose abort listener lives exactly as long as the call (the SDK leaves its own on the signal). */
async function receive(receiver: ServiceBusReceiver, maxWaitTimeInMs: number, signal: AbortSignal | undefined): Promise<ServiceBusReceivedMessage[]> {
  if (!signal) return receiver.receiveMessages(100, { maxWaitTimeInMs });
  const own = new AbortController();
  const onAbort = (): void => own.abort();
  signal.addEventListener('abort', onAbort, { once: true });
  try {
    return await receiver.receiveMessages(100, { maxWaitTimeInMs, abortSignal: own.signal });
  } finally {
    signal.removeEventListener('abort', onAbort);
  }
}

/** One pass over the DLQs of `targets` (queues; for topics, pass `<topic>/Subscriptions/<name>`). */
export async function runDeadLetterMonitor(client: ServiceBusClient, store: OutboxStorePort, targets: readonly string[], options: DeadLetterMonitorOptions = {}): Promise<DeadLetterMonitorResult[]> {
  const logger = options.logger ?? silentLogger;
  const results: DeadLetterMonitorResult[] = [];
  for (const target of targets) {
    const result: DeadLetterMonitorResult = { target, received: 0, markedDeadLettered: 0, leftInQueue: 0, setAside: {} };
    results.push(result);
    const sub = /^(.+)\/Subscriptions\/(.+)$/i.exec(target);
    const receiver = sub
      ? client.createReceiver(sub[1]!, sub[2]!, { subQueueType: 'deadLetter', receiveMode: 'peekLock' })
      : client.createReceiver(target, { subQueueType: 'deadLetter', receiveMode: 'peekLock' });
    const setAside = async (m: ServiceBusReceivedMessage, reason: PoisonReason, why: string): Promise<void> => {
      // Logged with ids and the reason only: never the payload, and the foreign id only in its described form.
      logger.warn('dead letter set aside: it can never be recorded on an outbox row', {
        target,
        reason,
        problem: why,
        sequenceNumber: m.sequenceNumber?.toString(),
        messageId: describeValue(typeof m.messageId === 'string' ? m.messageId : String(m.messageId ?? '')),
      });
      options.metrics?.poisonNotice?.('dead-letter', reason);
      result.setAside[reason] = (result.setAside[reason] ?? 0) + 1;
      try {
        await receiver.deferMessage(m);
      } catch (e) {
        // Deferral refused (not only a lost lock): completing is the other way to stop it blocking; it was logged above.
        logger.warn('dead letter could not be deferred; completed instead', { target, reason, sequenceNumber: m.sequenceNumber?.toString(), error: describeError(e) });
        await receiver.completeMessage(m);
      }
    };
    try {
      while (result.received < (options.maxMessagesPerTarget ?? 500)) {
        const messages = await receive(receiver, options.maxWaitTimeInMs ?? 1000, options.abortSignal);
        if (messages.length === 0) break;
        result.received += messages.length;
        const ids = messages.map((m) => normaliseGuid(m.applicationProperties?.[MessageProperties.outboxId]));
        const notices: DeadLetterNotice[] = messages.flatMap((m, i) =>
          ids[i] === undefined ? [] : [{ outboxId: ids[i]!, reason: m.deadLetterReason, description: m.deadLetterErrorDescription, deadLetteredOn: m.enqueuedTimeUtc ?? new Date() }],
        );
        const outcomes = notices.length ? await applyDeadLetters(store, notices, logger, options) : new Map<string, NoticeOutcome>();
        let progress = 0;
        // One settlement at a time: rhea merges simultaneous dispositions of neighbouring deliveries into one outcome.
        for (let i = 0; i < messages.length; i++) {
          const m = messages[i]!;
          const id = ids[i];
          const raw = m.applicationProperties?.[MessageProperties.outboxId];
          try {
            if (id === undefined) {
              const missing = raw === undefined || raw === null || raw === '';
              await setAside(m, missing ? PoisonReasons.MissingOutboxId : PoisonReasons.InvalidOutboxId, missing ? 'no outbox-id application property' : `outbox-id must be a GUID, got ${describeValue(raw)}`);
              progress++;
              continue;
            }
            const d = decide(id, outcomes.get(id));
            if (d.kind === 'setAside') {
              await setAside(m, d.reason, d.why);
              progress++;
            } else if (d.kind === 'leave') {
              if (d.error) result.error = d.error;
              await receiver.abandonMessage(m);
              result.leftInQueue++;
            } else {
              if (d.applied) result.markedDeadLettered++;
              logger.info('dead-lettered message recorded', { rowId: id, reason: m.deadLetterReason, recorded: d.applied });
              await receiver.completeMessage(m);
              progress++;
            }
          } catch (e) {
            // Lock lost or connection gone: this one comes back on the next run; the others are still settled.
            result.error = describeError(e);
            result.leftInQueue++;
          }
        }
        if (progress === 0) break; // only messages we must leave (they would come straight back): stop this pass
      }
    } catch (e) {
      result.error = describeError(e);
    } finally {
      await receiver.close().catch(() => undefined);
    }
    if (result.error) logger.warn('dead-letter monitor could not record every dead letter of a target; they stay for the next run', { target, error: result.error });
  }
  return results;
}
