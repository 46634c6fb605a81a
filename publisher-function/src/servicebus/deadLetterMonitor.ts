// Reads the dead-letter queues of the allowed targets, marks the rows DeadLettered with Service Bus's reason and
// description, and only then completes (removes) the dead-lettered message.
import { MessageProperties } from '@dataverse-outbox/solution';
import type { ServiceBusClient, ServiceBusReceivedMessage } from '@azure/service-bus';
import { applyDeadLetters, type DeadLetterNotice } from '../core/ackProcessor';
import { describeError } from '../core/errors';
import type { Logger, OperationOptions, OutboxStorePort } from '../core/ports';
import { silentLogger } from '../core/ports';

export interface DeadLetterMonitorResult {
  target: string;
  received: number;
  markedDeadLettered: number;
  /** Left in the DLQ for the next run (row not marked Published yet, not ours, or Dataverse unreachable). */
  leftInQueue: number;
  error?: string;
}

export interface DeadLetterMonitorOptions extends OperationOptions {
  logger?: Logger;
  /** Per target per run. Default 500. */
  maxMessagesPerTarget?: number;
  maxWaitTimeInMs?: number;
}

/** One pass over the DLQs of `targets` (queues; for topics, pass `<topic>/Subscriptions/<name>`). */
export async function runDeadLetterMonitor(client: ServiceBusClient, store: OutboxStorePort, targets: readonly string[], options: DeadLetterMonitorOptions = {}): Promise<DeadLetterMonitorResult[]> {
  const logger = options.logger ?? silentLogger;
  const results: DeadLetterMonitorResult[] = [];
  for (const target of targets) {
    const result: DeadLetterMonitorResult = { target, received: 0, markedDeadLettered: 0, leftInQueue: 0 };
    results.push(result);
    const sub = /^(.+)\/Subscriptions\/(.+)$/i.exec(target);
    const receiver = sub
      ? client.createReceiver(sub[1]!, sub[2]!, { subQueueType: 'deadLetter', receiveMode: 'peekLock' })
      : client.createReceiver(target, { subQueueType: 'deadLetter', receiveMode: 'peekLock' });
    try {
      while (result.received < (options.maxMessagesPerTarget ?? 500)) {
        const messages = await receiver.receiveMessages(100, { maxWaitTimeInMs: options.maxWaitTimeInMs ?? 1000, abortSignal: options.abortSignal });
        if (messages.length === 0) break;
        result.received += messages.length;
        const ours: { m: ServiceBusReceivedMessage; id: string }[] = [];
        const foreign: ServiceBusReceivedMessage[] = [];
        for (const m of messages) {
          const id = m.applicationProperties?.[MessageProperties.outboxId];
          if (typeof id === 'string' && id !== '') ours.push({ m, id: id.toLowerCase() });
          else foreign.push(m);
        }
        const notices: DeadLetterNotice[] = ours.map(({ m, id }) => ({
          outboxId: id,
          reason: m.deadLetterReason,
          description: m.deadLetterErrorDescription,
          deadLetteredOn: m.enqueuedTimeUtc ?? new Date(),
        }));
        let outcome: Map<string, string>;
        try {
          outcome = await applyDeadLetters(store, notices, logger, options);
        } catch (e) {
          result.error = describeError(e);
          await Promise.all(messages.map((m) => receiver.abandonMessage(m).catch(() => undefined)));
          result.leftInQueue += messages.length;
          break;
        }
        let completed = 0;
        for (const { m, id } of ours) {
          const r = outcome.get(id);
          if (r === 'not-yet-published') {
            await receiver.abandonMessage(m);
            result.leftInQueue++;
          } else {
            if (r === 'applied') result.markedDeadLettered++;
            logger.info('dead-lettered message recorded', { rowId: id, messageId: m.messageId as string, reason: m.deadLetterReason, result: r });
            await receiver.completeMessage(m);
            completed++;
          }
        }
        for (const m of foreign) {
          await receiver.abandonMessage(m);
          result.leftInQueue++;
        }
        if (completed === 0) break; // only messages we must leave (they would come straight back): stop this pass
      }
    } catch (e) {
      result.error = describeError(e);
      logger.warn('dead-letter monitor could not read a dead-letter queue', { target, error: result.error });
    } finally {
      await receiver.close().catch(() => undefined);
    }
  }
  return results;
}
