// createOutboxConsumer: the official @azure/service-bus receiver (peekLock) wired to the inbox pipeline.
// Non-session entities use receiver.subscribe with maxConcurrentCalls; session entities run `concurrency` session loops
// (acceptNextSession -> one message at a time, in order -> close when idle), since the JS SDK has no session processor.
import { randomUUID } from 'node:crypto';
import { setMaxListeners } from 'node:events';

import {
  isServiceBusError,
  ServiceBusClient,
  type ServiceBusReceivedMessage,
  type ServiceBusReceiver,
  type ServiceBusSender,
  type ServiceBusSessionReceiver,
} from '@azure/service-bus';
import { Settings, acknowledgementBatchSubject, toAcknowledgementMessage, toAcknowledgementMessages, type Acknowledgement } from '@dataverse-outbox/contract';

import { AcknowledgementLedger, type AcknowledgementSweepOptions } from './acknowledgementLedger';
import { ConsumerError, describeError } from './errors';
import type { InboxStore, OperationOptions } from './inbox';
import { aborted, raceAbort, sleep } from './internal/abort';
import { batchedProcessOnce, resolveBatching, type InboxBatchingOptions } from './internal/inboxBatcher';
import {
  defaultClassifyError,
  normaliseHandlers,
  processMessage,
  type ConsumerFaultInjection,
  type ErrorClassification,
  type MessageSettlement,
  type MessageSettler,
  type OutboxEventHandler,
  type OutboxEventHandlers,
  type ProcessDependencies,
} from './internal/processMessage';
import { sendBatcher } from './internal/sendBatcher';
import { SharedExclusiveLock } from './internal/sharedExclusiveLock';
import { payloadSchemaVersion, type OutboxEvent } from './outboxEvent';
import { startInboxRetention, type InboxRetention, type InboxRetentionOptions } from './retention';

/** Where the consumer receives from: a queue name, or a topic subscription. */
export type OutboxConsumerEntity = string | { topic: string; subscription: string };

export interface OutboxConsumerSessionOptions {
  /** How long a session receiver waits for the next message of its session before letting the session go. Default 5000. */
  sessionIdleTimeoutInMs?: number;
  /** Pause before asking again when no session is available (or accepting failed). Default 1000. */
  acceptRetryDelayInMs?: number;
}

export interface OutboxAcknowledgeOptions {
  /** The ack queue. Default obx_AckQueue's default (`outbox-acks`). */
  queue?: string;
  /**
   * Acknowledgements ready together go in one message (the contract's batch form, subject `OutboxAcknowledgementBatch`:
   * a JSON array of the spec's acks, up to 1,000 or 192 KiB); a lone one in the spec's single form. One message stored,
   * billed, received and settled for many. `false` = one message per acknowledgement, for a publisher older than the
   * batch form (it dead-letters a batch as AckNotAnObject). Default true.
   */
  batch?: boolean;
}

export interface ConsumerLogger {
  info(message: string, data?: Record<string, unknown>): void;
  warn(message: string, data?: Record<string, unknown>): void;
  error(message: string, data?: Record<string, unknown>): void;
}

export interface OutboxConsumerOptions<TTransaction> {
  /** A client you own (never closed by the consumer), or a connection string (the consumer creates and closes its client). */
  serviceBus: ServiceBusClient | { connectionString: string };
  entity: OutboxConsumerEntity;
  /** Set when the entity requires sessions (ordering per obx_sessionkey). `true` = defaults. */
  sessions?: boolean | OutboxConsumerSessionOptions;
  inbox: InboxStore<TTransaction>;
  /** One handler for every event type, or handlers by event type (others are dead-lettered as UnknownEventType). */
  handler: OutboxEventHandler<TTransaction> | OutboxEventHandlers<TTransaction>;
  /** Where acknowledgements go; default queue = obx_AckQueue's default (`outbox-acks`). `false` = acks off. */
  acknowledge?: OutboxAcknowledgeOptions | false;
  /** Messages handled at once (non-session), or sessions handled at once (sessions). Default 1. */
  concurrency?: number;
  /**
   * Inbox transactions shared by the messages in flight: one commit per batch (a failing handler still fails alone: the
   * batch is run again without it, a savepoint per message, so another handler of that batch may run twice, its writes
   * committing once). Default on when concurrency > 1: up to min(20, concurrency) messages per transaction,
   * concurrency / maxMessages transactions at once. Handlers of one batch run one after the other on its connection, so
   * a handler that waits on remote calls is better served by `false` (one transaction per message).
   */
  batching?: InboxBatchingOptions | false;
  /** How long the SDK keeps renewing a message's (or session's) lock for a long handler. Default 300000 (5 min). */
  maxAutoLockRenewalDurationInMs?: number;
  /** Transient (abandon, redeliver) or permanent (dead-letter now). Default: PermanentError -> permanent, anything else transient. */
  classifyError?: (error: unknown, event: OutboxEvent) => ErrorClassification;
  /** Reads the schema version checked against a registration's schemaVersions. Default: payload.schemaVersion. */
  readSchemaVersion?: (event: OutboxEvent) => string | number | undefined;
  /** Wait before abandoning after a transient error (the lock is kept meanwhile). Default 1000. */
  transientErrorDelayInMs?: number;
  /** Apply the inbox migrations in start(). Default true. */
  migrate?: boolean;
  /** Background purge of old inbox entries. Default: 30 days retention, hourly, 1000 per batch. `false` = you run it. */
  retention?: InboxRetentionOptions | false;
  /**
   * Acknowledges again, in the background, inbox entries whose acknowledgement was never recorded as sent (a crash
   * between complete and acknowledge). Default: every 60 s, entries older than 60 s. `false` = off. Needs `acknowledge`.
   */
  acknowledgementSweep?: AcknowledgementSweepOptions | false;
  logger?: ConsumerLogger;
  /** Called after every delivery with what happened to it. */
  onSettled?: (settlement: MessageSettlement) => void;
  /** Called for every error the consumer handles itself (it never throws them at you). */
  onError?: (error: ConsumerError) => void;
}

export interface CloseOptions {
  /** How long close() waits for handlers in flight before aborting their abortSignal. Default 30000. */
  timeoutInMs?: number;
}

export interface OutboxConsumer {
  /** The queue, or `<topic>/Subscriptions/<subscription>`. */
  readonly entityPath: string;
  readonly isRunning: boolean;
  /** Messages being processed right now. */
  readonly inFlight: number;
  /** Applies migrations (unless disabled), then starts receiving. */
  start(options?: OperationOptions): Promise<void>;
  /** Stops receiving, waits for messages in flight, closes what the consumer opened. Idempotent. */
  close(options?: CloseOptions): Promise<void>;
}

const silentLogger: ConsumerLogger = { info: () => undefined, warn: () => undefined, error: () => undefined };

function entityPathOf(entity: OutboxConsumerEntity): string {
  return typeof entity === 'string' ? entity : `${entity.topic}/Subscriptions/${entity.subscription}`;
}

/**
 * Settlements of one receiver other than completes are issued one at a time. rhea 3.0.5 (used by the SDK) coalesces dispositions written in
 * the same tick for consecutive deliveries into one frame carrying the FIRST delivery's outcome whenever only two are
 * pending (`write_dispositions` skips the outcome comparison while first === last): a dead-letter issued next to a
 * complete would be applied as a complete, and two dead-letters would share the first one's reason. Observed against
 * the emulator with concurrency 2. Completes coalesced with completes carry the right outcome, so they run together;
 * an abandon or dead-letter runs alone (no other disposition pending beside it).
 */
const settlementQueues = new WeakMap<ServiceBusReceiver, SharedExclusiveLock>();

function settlerFor(receiver: ServiceBusReceiver, message: ServiceBusReceivedMessage): MessageSettler {
  let queue = settlementQueues.get(receiver);
  if (!queue) {
    queue = new SharedExclusiveLock();
    settlementQueues.set(receiver, queue);
  }
  const serial = queue;
  return {
    complete: () => serial.run('shared', () => receiver.completeMessage(message)),
    abandon: () => serial.run('exclusive', () => receiver.abandonMessage(message)),
    deadLetter: (reason, description) =>
      serial.run('exclusive', () => receiver.deadLetterMessage(message, { deadLetterReason: reason, deadLetterErrorDescription: description })),
  };
}

export function createOutboxConsumer<TTransaction>(options: OutboxConsumerOptions<TTransaction>): OutboxConsumer {
  return createConsumer(options, undefined);
}

/** createOutboxConsumer with crash-injection hooks: reached only through the test-only entry point (testing.ts). */
export function createConsumer<TTransaction>(options: OutboxConsumerOptions<TTransaction>, faultInjection: ConsumerFaultInjection | undefined): OutboxConsumer {
  const concurrency = options.concurrency ?? 1;
  if (!Number.isInteger(concurrency) || concurrency < 1) throw new RangeError(`concurrency must be a positive integer, got ${concurrency}`);
  if (typeof options.entity === 'string' ? !options.entity : !options.entity.topic || !options.entity.subscription) {
    throw new TypeError('entity must be a queue name or { topic, subscription }');
  }
  if (!options.inbox) throw new TypeError('inbox is required (createPostgresInbox or createSqliteInbox)');
  const resolveHandler = normaliseHandlers(options.handler);
  const entityPath = entityPathOf(options.entity);
  const logger = options.logger ?? silentLogger;
  const ackQueue = options.acknowledge === false ? undefined : (options.acknowledge?.queue ?? Settings.AckQueue.defaultValue);
  const batchAcknowledgements = options.acknowledge !== false && options.acknowledge?.batch !== false;
  const sessionOptions = options.sessions ? (options.sessions === true ? {} : options.sessions) : undefined;
  const lockRenewal = options.maxAutoLockRenewalDurationInMs ?? 300_000;
  const ownsClient = !(options.serviceBus instanceof ServiceBusClient);
  const batching = options.batching === false ? undefined : resolveBatching(options.batching ?? {}, concurrency);

  let client: ServiceBusClient | undefined;
  let ackSender: ServiceBusSender | undefined;
  let receiver: ServiceBusReceiver | undefined;
  let subscription: { close(): Promise<void> } | undefined;
  let retention: InboxRetention | undefined;
  const sessionLoops: Promise<void>[] = [];
  const inFlight = new Set<Promise<unknown>>();
  const stop = new AbortController();
  const giveUp = new AbortController();
  // Every message in flight listens on these; concurrency may exceed Node's default of 10 listeners.
  setMaxListeners(0, stop.signal, giveUp.signal);
  let state: 'idle' | 'starting' | 'running' | 'closing' | 'closed' = 'idle';

  function reportError(error: ConsumerError): void {
    logger.warn(error.message, { code: error.code, outboxMessageId: error.outboxMessageId });
    try {
      options.onError?.(error);
    } catch {
      // A failing observer must not break message processing.
    }
  }

  function onSettled(settlement: MessageSettlement): void {
    const data = {
      outcome: settlement.outcome,
      outboxMessageId: settlement.outboxMessageId,
      eventType: settlement.eventType,
      sessionKey: settlement.sessionKey,
      deliveryCount: settlement.deliveryCount,
      sequenceNumber: settlement.sequenceNumber,
      ...(settlement.reason ? { reason: settlement.reason, description: settlement.description } : {}),
    };
    if (settlement.outcome === 'dead-lettered') logger.warn('message dead-lettered', data);
    else logger.info(`message ${settlement.outcome}`, data);
    try {
      options.onSettled?.(settlement);
    } catch {
      // Observers never affect settlement.
    }
  }

  // Acknowledgements ready together go in one send: one message in the batch form (or one message each, in one
  // Service Bus batch, with `batch: false`).
  const sendAcknowledgements = sendBatcher<Acknowledgement>(
    async (acks) => {
      if (!client || !ackQueue) return;
      ackSender ??= client.createSender(ackQueue);
      if (!batchAcknowledgements) {
        await ackSender.sendMessages(acks.map(toAcknowledgementMessage));
        return;
      }
      // A batch gets a unique message id: it has no identity of its own, and applying it twice is harmless.
      const messages = toAcknowledgementMessages(acks).map((m) => (m.subject === acknowledgementBatchSubject ? { ...m, messageId: randomUUID() } : m));
      // One send per message when the acks were split (over 1,000 or 192 KiB): together they may not fit one send.
      if (messages.length === 1) await ackSender.sendMessages(messages[0]!);
      else for (const message of messages) await ackSender.sendMessages(message);
    },
    { maxItems: 50, maxSends: 2 },
  );

  async function acknowledge(ack: Acknowledgement): Promise<void> {
    if (!client || !ackQueue) return;
    await sendAcknowledgements(ack);
  }

  const ledger =
    ackQueue && options.acknowledgementSweep !== false
      ? new AcknowledgementLedger(
          {
            inbox: options.inbox as InboxStore<unknown>,
            send: acknowledge,
            onError: (error, what) =>
              reportError(
                new ConsumerError(
                  what === 'record' ? 'InboxFailed' : 'AcknowledgementFailed',
                  what === 'record' ? `Recording sent acknowledgements failed (they will be sent again): ${describeError(error)}` : `Acknowledgement sweep failed: ${describeError(error)}`,
                  { cause: error },
                ),
              ),
            onResent: (entries) => logger.info('acknowledged again after a lost acknowledgement', { count: entries.length }),
          },
          options.acknowledgementSweep,
        )
      : undefined;

  const deps: ProcessDependencies<TTransaction> = {
    processOnce: batching ? batchedProcessOnce(options.inbox, batching) : (record, work) => options.inbox.processOnce(record, work),
    resolveHandler,
    classifyError: options.classifyError ?? defaultClassifyError,
    readSchemaVersion: options.readSchemaVersion ?? payloadSchemaVersion,
    acknowledge: ackQueue ? acknowledge : undefined,
    ...(ledger ? { acknowledgementSent: (id: string) => ledger.recordSent(id) } : {}),
    ...(ackQueue ? { onUnacknowledgeable: (outboxMessageId: string, why: string) => logger.warn(why, { outboxMessageId }) } : {}),
    transientErrorDelayInMs: options.transientErrorDelayInMs ?? 1000,
    stopSignal: stop.signal,
    closingSignal: giveUp.signal,
    reportError,
    onSettled,
    faultInjection,
  };

  /** Processes one message to settlement; resolves with its outcome (undefined if something unexpected threw). */
  async function handle(activeReceiver: ServiceBusReceiver, message: ServiceBusReceivedMessage): Promise<MessageSettlement['outcome'] | undefined> {
    const work = processMessage(deps, message, settlerFor(activeReceiver, message)).then(
      (settlement) => {
        onSettled(settlement);
        return settlement.outcome;
      },
      (error: unknown) => {
        // processMessage settles everything itself; reaching here means a fault-injection hook or observer threw.
        reportError(new ConsumerError('HandlerFailed', `Unexpected failure processing ${String(message.messageId)}: ${describeError(error)}`, { cause: error }));
        return undefined;
      },
    );
    inFlight.add(work);
    try {
      return await work;
    } finally {
      inFlight.delete(work);
    }
  }

  function reportReceiveError(error: unknown): void {
    if (stop.signal.aborted) return;
    reportError(new ConsumerError('ReceiveFailed', `Receiving from ${entityPath} failed: ${describeError(error)}`, { cause: error }));
  }

  function startNonSession(sbClient: ServiceBusClient): void {
    const receiverOptions = { receiveMode: 'peekLock' as const, maxAutoLockRenewalDurationInMs: lockRenewal, skipParsingBodyAsJson: true };
    const activeReceiver =
      typeof options.entity === 'string'
        ? sbClient.createReceiver(options.entity, receiverOptions)
        : sbClient.createReceiver(options.entity.topic, options.entity.subscription, receiverOptions);
    receiver = activeReceiver;
    subscription = activeReceiver.subscribe(
      {
        processMessage: async (message) => {
          await handle(activeReceiver, message);
        },
        processError: async (args) => reportReceiveError(args.error),
      },
      { autoCompleteMessages: false, maxConcurrentCalls: concurrency },
    );
  }

  async function acceptNextSession(sbClient: ServiceBusClient): Promise<ServiceBusSessionReceiver> {
    const receiverOptions = {
      receiveMode: 'peekLock' as const,
      maxAutoLockRenewalDurationInMs: lockRenewal,
      skipParsingBodyAsJson: true,
      abortSignal: stop.signal,
    };
    return typeof options.entity === 'string'
      ? sbClient.acceptNextSession(options.entity, receiverOptions)
      : sbClient.acceptNextSession(options.entity.topic, options.entity.subscription, receiverOptions);
  }

  async function sessionLoop(sbClient: ServiceBusClient, settings: OutboxConsumerSessionOptions): Promise<void> {
    const idle = settings.sessionIdleTimeoutInMs ?? 5000;
    const retryDelay = settings.acceptRetryDelayInMs ?? 1000;
    while (!stop.signal.aborted) {
      let sessionReceiver: ServiceBusSessionReceiver;
      try {
        // The SDK may keep waiting for a session after abort; close() must not wait for it.
        const accepted = await raceAbort(acceptNextSession(sbClient), stop.signal, (late) => void late.close().catch(() => undefined));
        if (accepted === aborted) break;
        sessionReceiver = accepted;
      } catch (error) {
        // No session available is the normal idle state, not an error worth reporting.
        const quiet = isServiceBusError(error) && (error.code === 'SessionCannotBeLocked' || error.code === 'ServiceTimeout');
        if (!quiet) reportReceiveError(error);
        await sleep(retryDelay, stop.signal);
        continue;
      }
      try {
        // One message at a time: the next message of a session is only received after the previous one is settled,
        // so an abandoned message is redelivered before anything behind it (order per key).
        while (!stop.signal.aborted) {
          const messages = await raceAbort(
            sessionReceiver.receiveMessages(1, { maxWaitTimeInMs: idle, abortSignal: stop.signal }),
            stop.signal,
            // A message that arrives after close() started is left to its lock: it is redelivered later.
            () => undefined,
          );
          if (messages === aborted) break;
          const message = messages[0];
          if (!message) break;
          const outcome = await handle(sessionReceiver, message);
          if (outcome !== 'processed' && outcome !== 'duplicate' && outcome !== 'dead-lettered') {
            // The message goes back to the head of its session. Letting the session go (and taking it again later)
            // restarts delivery from that head and gives other sessions a turn while this key backs off.
            break;
          }
        }
      } catch (error) {
        if (!stop.signal.aborted) reportReceiveError(error);
      } finally {
        await sessionReceiver.close().catch(() => undefined);
      }
    }
  }

  return {
    entityPath,
    get isRunning() {
      return state === 'running';
    },
    get inFlight() {
      return inFlight.size;
    },

    async start(startOptions: OperationOptions = {}): Promise<void> {
      if (state === 'closing' || state === 'closed') throw new ConsumerError('ConsumerClosed', 'This consumer is closed; create a new one with createOutboxConsumer().');
      if (state !== 'idle') return;
      state = 'starting';
      try {
        if (options.migrate !== false) await options.inbox.migrate(startOptions);
        client = options.serviceBus instanceof ServiceBusClient ? options.serviceBus : new ServiceBusClient(options.serviceBus.connectionString);
        if (options.retention !== false) {
          retention = startInboxRetention(options.inbox as InboxStore<unknown>, {
            ...options.retention,
            onError: (error) =>
              reportError(new ConsumerError('InboxFailed', `Inbox retention purge failed: ${describeError(error)}`, { cause: error })),
          });
        }
        ledger?.start();
        if (sessionOptions) {
          for (let i = 0; i < concurrency; i++) sessionLoops.push(sessionLoop(client, sessionOptions));
        } else {
          startNonSession(client);
        }
        state = 'running';
        logger.info('consumer started', { entityPath, concurrency, sessions: Boolean(sessionOptions), ackQueue });
      } catch (error) {
        state = 'idle';
        throw error;
      }
    },

    async close(closeOptions: CloseOptions = {}): Promise<void> {
      if (state === 'closing' || state === 'closed') return;
      const wasRunning = state === 'running';
      state = 'closing';
      stop.abort();
      await subscription?.close().catch(() => undefined);
      const timeoutInMs = closeOptions.timeoutInMs ?? 30_000;
      // Session loops end promptly on stop (they race their waits against it); in-flight handlers may take longer.
      const drained = Promise.all([...inFlight, ...sessionLoops]).then(() => true);
      let timer: NodeJS.Timeout | undefined;
      const timedOut = new Promise<boolean>((resolve) => {
        timer = setTimeout(() => resolve(false), timeoutInMs);
      });
      const finished = await Promise.race([drained, timedOut]);
      clearTimeout(timer);
      if (!finished) {
        giveUp.abort();
        reportError(new ConsumerError('CloseTimeout', `close() stopped waiting for ${inFlight.size} message(s) after ${timeoutInMs} ms; they will be redelivered`));
      }
      await retention?.stop();
      await ledger?.close();
      await receiver?.close().catch(() => undefined);
      await ackSender?.close().catch(() => undefined);
      if (ownsClient) await client?.close().catch(() => undefined);
      state = 'closed';
      if (wasRunning) logger.info('consumer closed', { entityPath });
    },
  };
}
