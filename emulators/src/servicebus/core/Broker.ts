// The broker core: entities, routing, sequence numbers, duplicate detection, locks, settlement, sessions, scheduling,
// expiry and dead-lettering. It knows nothing of AMQP or HTTP: adapters hand it parsed messages and opaque payloads.
// Every state change is written to the message store; operations a client waits for resolve only after the commit.
import { randomUUID } from 'node:crypto';
import type { EntityDefinition, ReceiveEntitySettings, SendEntitySettings } from '../configuration/EmulatorConfig';
import { brokerErrors } from '../errors/BrokerError';
import type { PropertyEdits } from '../filters/ruleAction';
import { compileRule, quotaKind, route, RuleDefinitionError, ruleQuotas, type RuleDefinition, type SubscriptionRule } from '../filters/rules';
import { SqlSyntaxError } from '../filters/sqlSyntax';
import type { MessageRow, MessageStore } from '../persistence/MessageStore';
import { Consumer, type ConsumerEvents, type ReceiveMode } from './Consumer';
import { type BrokerMessage, type MessageState, ReceiveQueue, type SessionState } from './ReceiveQueue';

/** The properties of a sent message the broker routes and filters on. */
export interface MessageProperties {
  messageId?: string;
  sessionId?: string;
  correlationId?: string;
  contentType?: string;
  subject?: string;
  replyTo?: string;
  replyToSessionId?: string;
  to?: string;
  applicationProperties?: Record<string, unknown>;
}

export interface IncomingMessage {
  /** The message as the client encoded it; stored and delivered back unchanged except for broker annotations. */
  payload: Buffer;
  properties: MessageProperties;
  timeToLiveInMs?: number;
  scheduledEnqueueTimeUtc?: number;
}

export interface Delivery {
  message: BrokerMessage;
  state: MessageState;
  lockToken?: string;
  lockedUntil?: number;
  /** Prior deliveries, as the AMQP header's delivery-count reports them. */
  deliveryCount: number;
  deadLetterSource?: string;
}

/** Application properties a receiver sets while abandoning, deferring or dead-lettering (`propertiesToModify`). */
export type PropertiesToModify = Record<string, unknown>;

export type Disposition =
  | { kind: 'complete' }
  | { kind: 'abandon'; propertiesToModify?: PropertiesToModify }
  | { kind: 'defer'; propertiesToModify?: PropertiesToModify }
  | { kind: 'deadletter'; reason?: string; description?: string; propertiesToModify?: PropertiesToModify };

/** A send duplicate detection dropped: its messageId was accepted at `firstSeenAt` (epoch ms) within the window. */
export interface DroppedDuplicate {
  entity: string;
  messageId: string;
  firstSeenAt: number;
  droppedAt: number;
}

export interface EntitySummary {
  name: string;
  kind: 'queue' | 'subscription';
  topic?: string;
  requiresSession: boolean;
  activeMessageCount: number;
  scheduledMessageCount: number;
  deferredMessageCount: number;
  lockedMessageCount: number;
  deadLetterMessageCount: number;
}

interface SendEntity {
  readonly key: string;
  readonly name: string;
  readonly kind: 'queue' | 'topic';
  readonly settings: SendEntitySettings;
  lastSequenceNumber: number;
  readonly seenMessageIds: Map<string, number>;
  readonly targets: Target[];
}

/** Where a queue or topic delivers: the queue itself, or a subscription with its rules (`rules` absent for a queue). */
interface Target {
  readonly queue: ReceiveQueue;
  rules?: SubscriptionRule[];
}

interface SessionWaiter {
  consumerFactory: (session: SessionState) => Consumer;
  resolve: (consumer: Consumer) => void;
  reject: (e: Error) => void;
  timer: NodeJS.Timeout;
}

export interface BrokerOptions {
  store: MessageStore;
  entities: EntityDefinition[];
  /** How often locks, sessions and scheduled messages are checked. */
  tickIntervalInMs?: number;
  /** Sets application properties on an encoded message (the adapter owns the wire format). */
  modifyProperties: (payload: Buffer, properties: PropertiesToModify) => Buffer;
  /** Rewrites an encoded message with a rule action's edits (the adapter owns the wire format). */
  editPayload: (payload: Buffer, edits: PropertyEdits) => Buffer;
}

/** Service Bus's texts for the dead-letter reasons it sets itself. */
export const deadLetterReasons = {
  maxDeliveryCountExceeded: 'MaxDeliveryCountExceeded',
  ttlExpired: 'TTLExpiredException',
} as const;

export function normalizeEntityPath(address: string): string {
  return address
    .replace(/^[a-z]+:\/\/[^/]+\//i, '')
    .replace(/^\/+/, '')
    .replace(/\/+$/, '')
    .toLowerCase();
}

const dlqSuffix = '/$deadletterqueue';

export class Broker {
  private readonly sendEntities = new Map<string, SendEntity>();
  private readonly receiveQueues = new Map<string, ReceiveQueue>();
  private readonly subscriptions = new Map<string, { entity: SendEntity; target: Target }>();
  private readonly locks = new Map<string, { queue: ReceiveQueue; message: BrokerMessage }>();
  private readonly sessionWaiters = new Map<ReceiveQueue, SessionWaiter[]>();
  private readonly toWake = new Set<ReceiveQueue>();
  private wakeScheduled = false;
  private ticker?: NodeJS.Timeout;
  private lastSlowTick = 0;
  private readonly store: MessageStore;

  constructor(private readonly options: BrokerOptions) {
    this.store = options.store;
    for (const definition of options.entities) this.addEntity(definition);
  }

  // ---- lifecycle ------------------------------------------------------------------------------------------------

  /** Loads persisted state and starts the timers. */
  start(): void {
    const state = this.store.load();
    const now = Date.now();
    for (const row of state.messages) {
      const main = this.receiveQueues.get(row.entity);
      const queue = row.subQueue === 'deadletter' ? main?.deadLetterQueue : main;
      if (!queue) continue; // entity no longer configured: the rows stay in the file untouched
      queue.add(fromRow(row), now);
    }
    for (const entity of this.sendEntities.values()) {
      let last = state.sequences.get(entity.key) ?? 0;
      for (const { queue } of entity.targets) {
        for (const seq of queue.messages.keys()) last = Math.max(last, seq);
        for (const seq of queue.deadLetterQueue!.messages.keys()) last = Math.max(last, seq);
      }
      entity.lastSequenceNumber = last;
    }
    for (const d of state.duplicates) this.sendEntities.get(d.entity)?.seenMessageIds.set(d.messageId, d.seenAt);
    for (const s of state.sessionStates) {
      const queue = this.receiveQueues.get(s.entity);
      if (queue) queue.session(s.sessionId).state = s.state;
    }
    // Rules a client created or deleted outlive a restart, as any entity state does; they replace the configured ones.
    for (const r of state.ruleSets) {
      const subscription = this.subscriptions.get(r.entity);
      if (subscription) subscription.target.rules = (JSON.parse(r.definitions) as RuleDefinition[]).map((d) => compileRule(d));
    }
    this.ticker = setInterval(() => this.tick(), this.options.tickIntervalInMs ?? 50);
    this.ticker.unref();
  }

  close(): void {
    if (this.ticker) clearInterval(this.ticker);
    for (const waiters of this.sessionWaiters.values()) {
      for (const w of waiters) {
        clearTimeout(w.timer);
        w.reject(new Error('The emulator is closing.'));
      }
    }
    this.sessionWaiters.clear();
  }

  addEntity(definition: EntityDefinition): void {
    const key = normalizeEntityPath(definition.name);
    if (this.sendEntities.has(key) || this.receiveQueues.has(key)) {
      throw brokerErrors.invalidOperation(`An entity named '${definition.name}' already exists.`);
    }
    const entity: SendEntity = {
      key,
      name: definition.name,
      kind: definition.kind,
      settings: definition.send,
      lastSequenceNumber: 0,
      seenMessageIds: new Map(),
      targets: [],
    };
    if (definition.kind === 'queue') {
      entity.targets.push({ queue: this.createReceiveQueue(definition.name, key, definition.receive) });
    } else {
      for (const sub of definition.subscriptions) {
        const subKey = `${key}/subscriptions/${sub.name.toLowerCase()}`;
        const queue = this.createReceiveQueue(`${definition.name}/Subscriptions/${sub.name}`, subKey, sub.receive);
        const target: Target = { queue, rules: sub.rules.map((r) => compileRule(r)) };
        entity.targets.push(target);
        this.subscriptions.set(subKey, { entity, target });
      }
    }
    this.sendEntities.set(key, entity);
  }

  private createReceiveQueue(displayPath: string, key: string, settings: ReceiveEntitySettings): ReceiveQueue {
    const queue = new ReceiveQueue(displayPath, key, 'main', settings);
    const dlq = new ReceiveQueue(`${displayPath}/$DeadLetterQueue`, key, 'deadletter', {
      ...settings,
      requiresSession: false,
      maxDeliveryCount: Number.POSITIVE_INFINITY,
      defaultMessageTimeToLiveInMs: Number.POSITIVE_INFINITY,
      deadLetteringOnMessageExpiration: false,
    });
    queue.deadLetterQueue = dlq;
    this.receiveQueues.set(key, queue);
    this.receiveQueues.set(key + dlqSuffix, dlq);
    return queue;
  }

  // ---- addressing -----------------------------------------------------------------------------------------------

  hasSendEntity(address: string): boolean {
    return this.sendEntities.has(normalizeEntityPath(address));
  }

  /** The queue or topic a sender may attach to; anything else is refused as Service Bus refuses it. */
  sendEntity(address: string): string {
    const key = normalizeEntityPath(address);
    if (!this.sendEntities.has(key)) throw brokerErrors.entityNotFound(address);
    return key;
  }

  /** The queue, subscription or dead-letter queue a receiver may attach to. */
  receiveQueue(address: string): ReceiveQueue {
    const queue = this.receiveQueues.get(normalizeEntityPath(address));
    if (!queue) throw brokerErrors.entityNotFound(address);
    return queue;
  }

  /** Any entity path (send or receive) for management requests. */
  entityExists(address: string): boolean {
    const key = normalizeEntityPath(address);
    return this.sendEntities.has(key) || this.receiveQueues.has(key);
  }

  // ---- sending --------------------------------------------------------------------------------------------------

  /**
   * Accepts messages for a queue or topic. Resolves with their sequence numbers once they are durable
   * (a duplicate within the detection window is accepted and dropped; its entry is then undefined).
   */
  async send(entityKey: string, messages: IncomingMessage[]): Promise<Array<number | undefined>> {
    const entity = this.sendEntities.get(entityKey);
    if (!entity) throw brokerErrors.entityNotFound(entityKey);
    if (entity.kind === 'queue' && entity.targets[0]!.queue.requiresSession) {
      if (messages.some((m) => m.properties.sessionId === undefined)) throw brokerErrors.sessionRequired(entity.name);
    }
    const now = Date.now();
    const created: Array<{ queue: ReceiveQueue; message: BrokerMessage }> = [];
    const sequenceNumbers: Array<number | undefined> = [];
    for (const incoming of messages) {
      const { messageId } = incoming.properties;
      if (entity.settings.requiresDuplicateDetection && messageId !== undefined) {
        const seenAt = entity.seenMessageIds.get(messageId);
        if (seenAt !== undefined && seenAt > now - entity.settings.duplicateDetectionHistoryTimeWindowInMs) {
          sequenceNumbers.push(undefined);
          this.store.recordDroppedDuplicate(entity.key, messageId, seenAt, now);
          continue;
        }
        entity.seenMessageIds.set(messageId, now);
        this.store.rememberMessageId(entity.key, messageId, now);
      }
      const sequenceNumber = ++entity.lastSequenceNumber;
      sequenceNumbers.push(sequenceNumber);
      const scheduledAt = incoming.scheduledEnqueueTimeUtc !== undefined && incoming.scheduledEnqueueTimeUtc > now ? incoming.scheduledEnqueueTimeUtc : undefined;
      const enqueuedAt = scheduledAt ?? now;
      for (const target of entity.targets) {
        const copies = target.rules ? route(target.rules, { ...incoming.properties, sequenceNumber }) : [{}];
        for (const [copy, { edits }] of copies.entries()) {
          const ttl = Math.min(incoming.timeToLiveInMs ?? Number.POSITIVE_INFINITY, target.queue.settings.defaultMessageTimeToLiveInMs, entity.settings.defaultMessageTimeToLiveInMs);
          const system = edits?.system ?? {};
          const message: BrokerMessage = {
            // A second copy in the same subscription (a rule with an action) gets a sequence number of its own.
            sequenceNumber: copy === 0 ? sequenceNumber : ++entity.lastSequenceNumber,
            payload: edits ? this.options.editPayload(incoming.payload, edits) : incoming.payload,
            messageId: 'messageId' in system ? system.messageId : messageId,
            sessionId: 'sessionId' in system ? system.sessionId : incoming.properties.sessionId,
            enqueuedAt,
            scheduledAt,
            expiresAt: Number.isFinite(ttl) ? enqueuedAt + ttl : undefined,
            deliveryCount: 0,
            deferred: false,
            indexed: false,
          };
          this.store.insertMessage(toRow(target.queue, message));
          created.push({ queue: target.queue, message });
        }
      }
    }
    if (messages.length > 0) this.store.setLastSequenceNumber(entity.key, entity.lastSequenceNumber);
    await this.store.commit();
    const after = Date.now();
    for (const { queue, message } of created) {
      if (queue.add(message, after)) this.wake(queue);
    }
    return sequenceNumbers;
  }

  /**
   * Sends of a queue or topic that duplicate detection dropped, oldest first (Azure keeps no such list: the emulator's
   * admin API offers it so a test can tell a message sent twice from one sent once).
   */
  droppedDuplicates(address: string, maxCount: number): DroppedDuplicate[] {
    const key = this.sendEntity(address);
    const name = this.sendEntities.get(key)!.name;
    return this.store.droppedDuplicates(key, maxCount).map((d) => ({ entity: name, ...d }));
  }

  /** Cancels scheduled messages (every subscription's copy, for a topic). Unknown numbers are ignored, as in Azure. */
  async cancelScheduled(entityKey: string, sequenceNumbers: number[]): Promise<void> {
    const entity = this.sendEntities.get(entityKey);
    if (!entity) throw brokerErrors.entityNotFound(entityKey);
    for (const seq of sequenceNumbers) {
      for (const { queue } of entity.targets) {
        const message = queue.messages.get(seq);
        if (message && queue.scheduled.has(message)) {
          queue.remove(message);
          this.store.deleteMessage(queue.storeKey, seq);
        }
      }
    }
    await this.store.commit();
  }

  // ---- receiving ------------------------------------------------------------------------------------------------

  /** Attaches a non-session receiver. */
  attach(queue: ReceiveQueue, mode: ReceiveMode, events: ConsumerEvents): Consumer {
    if (queue.requiresSession) throw brokerErrors.sessionNotSupported(queue.displayPath);
    const consumer = new Consumer(queue, mode, events);
    queue.consumers.add(consumer);
    return consumer;
  }

  /**
   * Attaches a session receiver: a named session (refused if another receiver holds it) or, with `sessionId`
   * undefined, the next session with available messages, waiting up to `timeoutInMs` for one.
   */
  attachSession(queue: ReceiveQueue, mode: ReceiveMode, events: ConsumerEvents, sessionId: string | undefined, timeoutInMs: number): Promise<Consumer> {
    if (!queue.requiresSession) {
      return Promise.reject(brokerErrors.invalidOperation(`The entity '${queue.displayPath}' does not require sessions; use a non-session receiver.`));
    }
    const now = Date.now();
    const lockSession = (session: SessionState): Consumer => {
      const consumer = new Consumer(queue, mode, events, session);
      session.owner = consumer;
      session.lockedUntil = Date.now() + queue.settings.lockDurationInMs;
      queue.consumers.add(consumer);
      return consumer;
    };
    if (sessionId !== undefined) {
      const session = queue.session(sessionId);
      if (session.isLocked(now)) return Promise.reject(brokerErrors.sessionCannotBeLocked(sessionId));
      return Promise.resolve(lockSession(session));
    }
    const available = queue.nextAvailableSession(now);
    if (available) return Promise.resolve(lockSession(available));
    return new Promise<Consumer>((resolve, reject) => {
      const waiters = this.sessionWaiters.get(queue) ?? [];
      this.sessionWaiters.set(queue, waiters);
      const waiter: SessionWaiter = {
        consumerFactory: lockSession,
        resolve,
        reject,
        timer: setTimeout(() => {
          const list = this.sessionWaiters.get(queue);
          if (list) list.splice(list.indexOf(waiter), 1);
          reject(brokerErrors.noSessionAvailable(queue.displayPath));
        }, Math.max(0, timeoutInMs)),
      };
      waiters.push(waiter);
    });
  }

  /**
   * A receiver went away. Locks belong to the broker, not to the link, so nothing it held is lost or stuck:
   * - a session receiver's session is released together with every message locked under it (they return with their
   *   delivery count raised, dead-lettered at MaxDeliveryCount), so the next receiver of the session gets them first,
   *   in sequence order;
   * - a non-session receiver whose connection was lost (dropped, client killed) has its unsettled messages returned
   *   at once, as if abandoned;
   * - a non-session receiver the client detached itself leaves its locks running until they expire, so the client
   *   may still settle or renew them through `$management` (what the SDK does for a message whose link is closed).
   */
  detach(consumer: Consumer, reason: 'detached' | 'connectionLost' = 'detached'): void {
    if (consumer.closed) return;
    consumer.closed = true;
    consumer.queue.consumers.delete(consumer);
    const session = consumer.session;
    if (session) {
      if (session.owner === consumer) this.releaseSession(consumer.queue, session);
    } else if (reason === 'connectionLost') {
      this.releaseLocksOf(consumer);
    }
  }

  /** Takes up to `max` messages for a receiver: locked (peekLock) or removed (receiveAndDelete). */
  receive(consumer: Consumer, max: number): Delivery[] {
    const out: Delivery[] = [];
    if (consumer.closed) return out;
    const queue = consumer.queue;
    const now = Date.now();
    if (consumer.session && !(consumer.session.owner === consumer && consumer.session.lockedUntil > now)) return out;
    while (out.length < max) {
      const message = queue.takeNext(consumer.session);
      if (!message) break;
      // Messages never expire in a dead-letter queue (Azure keeps them until they are received).
      if (queue.subQueue === 'main' && message.expiresAt !== undefined && message.expiresAt <= now) {
        this.expire(queue, message);
        continue;
      }
      out.push(this.deliver(queue, message, consumer.mode, consumer, now));
    }
    return out;
  }

  private deliver(queue: ReceiveQueue, message: BrokerMessage, mode: ReceiveMode, owner: Consumer | undefined, now: number): Delivery {
    const priorDeliveries = message.deliveryCount;
    const state = queue.stateOf(message, now);
    message.deliveryCount += 1;
    if (mode === 'receiveAndDelete') {
      queue.remove(message);
      this.store.deleteMessage(queue.storeKey, message.sequenceNumber);
      return { message, state, deliveryCount: priorDeliveries };
    }
    this.store.setDeliveryCount(queue.storeKey, message.sequenceNumber, message.deliveryCount);
    const token = randomUUID();
    const session = owner?.session;
    const until = session ? session.lockedUntil : now + queue.settings.lockDurationInMs;
    message.lock = { token, until, owner };
    this.locks.set(token, { queue, message });
    owner?.lockTokens.add(token);
    return { message, state, lockToken: token, lockedUntil: until, deliveryCount: priorDeliveries };
  }

  /** Receives deferred messages by sequence number (management operation). */
  receiveDeferred(queue: ReceiveQueue, sequenceNumbers: number[], mode: ReceiveMode, sessionId?: string): Delivery[] {
    const now = Date.now();
    const messages = sequenceNumbers.map((seq) => {
      const message = queue.messages.get(seq);
      if (!message || !message.deferred || message.lock || (sessionId !== undefined && message.sessionId !== sessionId)) {
        throw brokerErrors.messageNotFound(seq);
      }
      return message;
    });
    let owner: Consumer | undefined;
    if (sessionId !== undefined) {
      const session = queue.sessions.get(sessionId);
      if (!session || !session.isLocked(now)) throw brokerErrors.sessionLockLost(sessionId);
      owner = session.owner;
    }
    return messages.map((m) => this.deliver(queue, m, mode, owner, now));
  }

  // ---- settlement and locks -------------------------------------------------------------------------------------

  /** Completes, abandons, defers or dead-letters a locked message; resolves once the outcome is durable. */
  async settle(lockToken: string, disposition: Disposition, via?: Consumer): Promise<void> {
    const now = Date.now();
    const entry = this.locks.get(lockToken);
    if (!entry) {
      if (via?.session) throw brokerErrors.sessionLockLost(via.session.id);
      throw brokerErrors.messageLockLost();
    }
    const { queue, message } = entry;
    const session = message.lock?.owner?.session;
    if (session) {
      if (session.owner !== message.lock?.owner || session.lockedUntil <= now) throw brokerErrors.sessionLockLost(session.id);
    } else if (!message.lock || message.lock.until <= now) {
      this.releaseLock(lockToken);
      throw brokerErrors.messageLockLost();
    }
    this.unlock(lockToken);
    if (disposition.kind !== 'complete' && disposition.propertiesToModify && Object.keys(disposition.propertiesToModify).length > 0) {
      // Service Bus keeps the receiver's edits with the message for its next delivery (or in the dead-letter queue).
      message.payload = this.options.modifyProperties(message.payload, disposition.propertiesToModify);
      this.store.insertMessage(toRow(queue, message));
    }
    switch (disposition.kind) {
      case 'complete':
        queue.remove(message);
        this.store.deleteMessage(queue.storeKey, message.sequenceNumber);
        break;
      case 'abandon':
        this.returnToQueue(queue, message);
        break;
      case 'defer':
        message.deferred = true;
        this.store.setDeferred(queue.storeKey, message.sequenceNumber);
        break;
      case 'deadletter':
        this.deadLetter(queue, message, disposition.reason, disposition.description);
        break;
    }
    await this.store.commit();
  }

  /** Renews message locks (non-session messages); returns the new expiry of each. */
  renewLocks(lockTokens: string[]): number[] {
    const now = Date.now();
    return lockTokens.map((token) => {
      const entry = this.locks.get(token);
      if (!entry || !entry.message.lock || entry.message.lock.until <= now) throw brokerErrors.messageLockLost();
      if (entry.message.lock.owner?.session) {
        throw brokerErrors.invalidOperation('Message locks of a session cannot be renewed; renew the session lock instead.');
      }
      entry.message.lock.until = now + entry.queue.settings.lockDurationInMs;
      return entry.message.lock.until;
    });
  }

  renewSessionLock(queue: ReceiveQueue, sessionId: string): number {
    const now = Date.now();
    const session = queue.sessions.get(sessionId);
    if (!session || !session.isLocked(now)) throw brokerErrors.sessionLockLost(sessionId);
    session.lockedUntil = now + queue.settings.lockDurationInMs;
    return session.lockedUntil;
  }

  getSessionState(queue: ReceiveQueue, sessionId: string): Buffer | undefined {
    const session = queue.sessions.get(sessionId);
    if (!session || !session.isLocked(Date.now())) throw brokerErrors.sessionLockLost(sessionId);
    return session.state;
  }

  async setSessionState(queue: ReceiveQueue, sessionId: string, state: Buffer | undefined): Promise<void> {
    const session = queue.sessions.get(sessionId);
    if (!session || !session.isLocked(Date.now())) throw brokerErrors.sessionLockLost(sessionId);
    session.state = state;
    session.updatedAt = Date.now();
    this.store.setSessionState(queue.storeKey, sessionId, state ?? null);
    await this.store.commit();
  }

  listSessions(queue: ReceiveQueue): string[] {
    const out: string[] = [];
    for (const session of queue.sessions.values()) {
      const hasMessages = [...queue.messages.values()].some((m) => m.sessionId === session.id);
      if (hasMessages || session.state !== undefined) out.push(session.id);
    }
    return out;
  }

  /** Messages from a sequence number on, with their state (peek never locks). */
  peek(queue: ReceiveQueue, fromSequenceNumber: number, max: number, sessionId?: string): Delivery[] {
    const now = Date.now();
    return queue.inOrderFrom(fromSequenceNumber, max, sessionId).map((message) => ({
      message,
      state: queue.stateOf(message, now),
      deliveryCount: message.deliveryCount,
      lockedUntil: message.lock?.until,
    }));
  }

  // ---- subscription rules ---------------------------------------------------------------------------------------

  private subscription(address: string): { entity: SendEntity; target: Target & { rules: SubscriptionRule[] } } {
    const key = normalizeEntityPath(address);
    const found = this.subscriptions.get(key);
    if (found) return found as { entity: SendEntity; target: Target & { rules: SubscriptionRule[] } };
    if (this.entityExists(address)) throw brokerErrors.invalidOperation(`Rules exist only on topic subscriptions; '${address}' is not one.`);
    throw brokerErrors.entityNotFound(address);
  }

  /** The subscription's rules in creation order. */
  listRules(address: string): RuleDefinition[] {
    return this.subscription(address).target.rules.map((r) => r.definition);
  }

  /** Adds a rule (add-rule / createRule); resolves once it is durable. */
  async addRule(address: string, definition: RuleDefinition): Promise<void> {
    const { entity, target } = this.subscription(address);
    const rulePath = `${target.queue.displayPath}/Rules/${definition.name}`;
    if (target.rules.some((r) => r.definition.name.toLowerCase() === definition.name.toLowerCase())) throw brokerErrors.ruleAlreadyExists(rulePath);
    let rule: SubscriptionRule;
    try {
      rule = compileRule(definition);
    } catch (error) {
      if (error instanceof SqlSyntaxError || error instanceof RuleDefinitionError) throw brokerErrors.argument(error.message);
      throw error;
    }
    const kind = quotaKind(definition.filter);
    const limit = kind === 'sql' ? ruleQuotas.sqlFiltersPerTopic : ruleQuotas.correlationFiltersPerTopic;
    const used = entity.targets.reduce((n, t) => n + (t.rules ?? []).filter((r) => quotaKind(r.definition.filter) === kind).length, 0);
    if (used >= limit) throw brokerErrors.ruleQuotaExceeded(entity.name, kind, limit);
    target.rules = [...target.rules, rule];
    await this.saveRules(target);
  }

  /** Removes a rule by name (remove-rule / deleteRule); resolves once it is durable. */
  async removeRule(address: string, name: string): Promise<void> {
    const { target } = this.subscription(address);
    const remaining = target.rules.filter((r) => r.definition.name.toLowerCase() !== name.toLowerCase());
    if (remaining.length === target.rules.length) throw brokerErrors.entityNotFound(`${target.queue.displayPath}/Rules/${name}`);
    target.rules = remaining;
    await this.saveRules(target);
  }

  private async saveRules(target: Target): Promise<void> {
    this.store.saveRuleSet(target.queue.storeKey, JSON.stringify((target.rules ?? []).map((r) => r.definition)));
    await this.store.commit();
  }

  // ---- administration -------------------------------------------------------------------------------------------

  describeEntities(): EntitySummary[] {
    const now = Date.now();
    const out: EntitySummary[] = [];
    for (const entity of this.sendEntities.values()) {
      for (const { queue } of entity.targets) {
        let active = 0;
        let scheduled = 0;
        let deferred = 0;
        let locked = 0;
        for (const m of queue.messages.values()) {
          const state = queue.stateOf(m, now);
          if (state === 'active') active++;
          else if (state === 'scheduled') scheduled++;
          else deferred++;
          if (m.lock) locked++;
        }
        out.push({
          name: queue.displayPath,
          kind: entity.kind === 'queue' ? 'queue' : 'subscription',
          topic: entity.kind === 'topic' ? entity.name : undefined,
          requiresSession: queue.requiresSession,
          activeMessageCount: active,
          scheduledMessageCount: scheduled,
          deferredMessageCount: deferred,
          lockedMessageCount: locked,
          deadLetterMessageCount: queue.deadLetterQueue!.messages.size,
        });
      }
    }
    return out;
  }

  // ---- internals ------------------------------------------------------------------------------------------------

  /** An abandoned or expired-lock message goes back, or to the DLQ once it has used up its deliveries. */
  private returnToQueue(queue: ReceiveQueue, message: BrokerMessage): void {
    message.lock = undefined;
    if (message.deliveryCount >= queue.settings.maxDeliveryCount) {
      this.deadLetter(
        queue,
        message,
        deadLetterReasons.maxDeliveryCountExceeded,
        `Message could not be consumed after ${queue.settings.maxDeliveryCount} delivery attempts.`,
      );
      return;
    }
    if (message.deferred) return;
    queue.makeAvailable(message);
    this.wake(queue);
  }

  /** Forgets a lock (settled or released); the one place a lock ends. */
  private unlock(token: string): { queue: ReceiveQueue; message: BrokerMessage } | undefined {
    const entry = this.locks.get(token);
    if (!entry) return undefined;
    this.locks.delete(token);
    entry.message.lock?.owner?.lockTokens.delete(token);
    entry.message.lock = undefined;
    return entry;
  }

  /** Ends a lock without settlement (lock expiry, receiver or session gone): the message returns or is dead-lettered. */
  private releaseLock(token: string): void {
    const entry = this.unlock(token);
    if (entry) this.returnToQueue(entry.queue, entry.message);
  }

  /** Releases every lock a receiver holds, in sequence order so a session's messages return in order. */
  private releaseLocksOf(consumer: Consumer): void {
    if (consumer.lockTokens.size === 0) return;
    const tokens = [...consumer.lockTokens].sort((a, b) => this.locks.get(a)!.message.sequenceNumber - this.locks.get(b)!.message.sequenceNumber);
    for (const token of tokens) this.releaseLock(token);
  }

  private deadLetter(queue: ReceiveQueue, message: BrokerMessage, reason?: string, description?: string): void {
    const dlq = queue.deadLetterQueue;
    if (!dlq) {
      // Dead-lettering from a dead-letter queue leaves the message where it is.
      queue.makeAvailable(message);
      return;
    }
    queue.remove(message);
    message.deferred = false;
    message.deadLetter = { reason, description };
    this.store.deadLetter(queue.storeKey, message.sequenceNumber, reason ?? null, description ?? null, null);
    if (dlq.add(message, Date.now())) this.wake(dlq);
  }

  private expire(queue: ReceiveQueue, message: BrokerMessage): void {
    if (queue.settings.deadLetteringOnMessageExpiration) {
      this.deadLetter(queue, message, deadLetterReasons.ttlExpired, 'The message expired and was dead lettered.');
    } else {
      queue.remove(message);
      this.store.deleteMessage(queue.storeKey, message.sequenceNumber);
    }
  }

  private releaseSession(queue: ReceiveQueue, session: SessionState): void {
    const owner = session.owner;
    session.owner = undefined;
    session.lockedUntil = 0;
    if (owner) this.releaseLocksOf(owner);
    this.wake(queue);
  }

  private wake(queue: ReceiveQueue): void {
    this.toWake.add(queue);
    if (this.wakeScheduled) return;
    this.wakeScheduled = true;
    queueMicrotask(() => {
      this.wakeScheduled = false;
      const queues = [...this.toWake];
      this.toWake.clear();
      for (const q of queues) {
        this.serveSessionWaiters(q);
        for (const consumer of q.consumers) consumer.events.wake();
      }
    });
  }

  private serveSessionWaiters(queue: ReceiveQueue): void {
    const waiters = this.sessionWaiters.get(queue);
    if (!waiters) return;
    while (waiters.length > 0) {
      const session = queue.nextAvailableSession(Date.now());
      if (!session) return;
      const waiter = waiters.shift()!;
      clearTimeout(waiter.timer);
      waiter.resolve(waiter.consumerFactory(session));
    }
  }

  private tick(): void {
    const now = Date.now();
    for (const queue of this.receiveQueues.values()) {
      for (const message of queue.scheduled) {
        if (message.scheduledAt! <= now) {
          queue.scheduled.delete(message);
          queue.makeAvailable(message);
          this.wake(queue);
        }
      }
      if (queue.requiresSession) {
        for (const session of queue.sessions.values()) {
          if (session.owner && session.lockedUntil <= now) {
            const owner = session.owner;
            this.releaseSession(queue, session);
            try {
              owner.events.sessionLockLost(brokerErrors.sessionLockLost(session.id));
            } catch {
              // The link may already be gone; the session and its messages are released either way.
            }
          }
        }
      }
    }
    for (const [token, { message }] of this.locks) {
      if (!message.lock?.owner?.session && message.lock && message.lock.until <= now) this.releaseLock(token);
    }
    if (now - this.lastSlowTick >= 1000) {
      this.lastSlowTick = now;
      this.expireMessages(now);
      for (const entity of this.sendEntities.values()) {
        const before = now - entity.settings.duplicateDetectionHistoryTimeWindowInMs;
        let pruned = false;
        for (const [id, seenAt] of entity.seenMessageIds) {
          if (seenAt < before) {
            entity.seenMessageIds.delete(id);
            pruned = true;
          }
        }
        if (pruned) this.store.forgetMessageIdsBefore(entity.key, before);
      }
    }
  }

  private expireMessages(now: number): void {
    for (const queue of this.receiveQueues.values()) {
      if (queue.subQueue === 'deadletter') continue;
      for (const message of queue.messages.values()) {
        if (message.expiresAt !== undefined && message.expiresAt <= now && !message.lock && !message.deferred) {
          this.expire(queue, message);
        }
      }
    }
  }
}

function toRow(queue: ReceiveQueue, m: BrokerMessage): MessageRow {
  return {
    entity: queue.storeKey,
    sequenceNumber: m.sequenceNumber,
    subQueue: queue.subQueue,
    deferred: m.deferred,
    sessionId: m.sessionId ?? null,
    messageId: m.messageId ?? null,
    enqueuedAt: m.enqueuedAt,
    scheduledAt: m.scheduledAt ?? null,
    expiresAt: m.expiresAt ?? null,
    deliveryCount: m.deliveryCount,
    payload: m.payload,
    deadLetterReason: m.deadLetter?.reason ?? null,
    deadLetterDescription: m.deadLetter?.description ?? null,
    deadLetterSource: m.deadLetter?.source ?? null,
  };
}

function fromRow(row: MessageRow): BrokerMessage {
  return {
    sequenceNumber: row.sequenceNumber,
    payload: row.payload,
    messageId: row.messageId ?? undefined,
    sessionId: row.sessionId ?? undefined,
    enqueuedAt: row.enqueuedAt,
    scheduledAt: row.scheduledAt ?? undefined,
    expiresAt: row.expiresAt ?? undefined,
    deliveryCount: row.deliveryCount,
    deferred: row.deferred,
    deadLetter:
      row.subQueue === 'deadletter'
        ? { reason: row.deadLetterReason ?? undefined, description: row.deadLetterDescription ?? undefined, source: row.deadLetterSource ?? undefined }
        : undefined,
    indexed: false,
  };
}
