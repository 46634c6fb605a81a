// A receive entity (queue, subscription, or one of their $DeadLetterQueue sub-queues): its messages, the in-memory
// index of the ones a receiver may take next (per session when the entity requires sessions), and who is attached.
import type { ReceiveEntitySettings } from '../configuration/EmulatorConfig';
import type { SubQueue } from '../persistence/MessageStore';
import type { Consumer } from './Consumer';
import { SequenceHeap } from './SequenceHeap';

export interface DeadLetterInfo {
  reason?: string;
  description?: string;
  source?: string;
}

export interface BrokerMessage {
  readonly sequenceNumber: number;
  payload: Buffer;
  readonly messageId?: string;
  readonly sessionId?: string;
  readonly enqueuedAt: number;
  readonly scheduledAt?: number;
  readonly expiresAt?: number;
  deliveryCount: number;
  deferred: boolean;
  deadLetter?: DeadLetterInfo;
  lock?: MessageLock;
  /** True while the message sits in an available index. */
  indexed: boolean;
}

export interface MessageLock {
  token: string;
  /** For messages of a session the session's lock governs; this is then only informative. */
  until: number;
  owner?: Consumer;
}

export type MessageState = 'active' | 'deferred' | 'scheduled';

export class SessionState {
  readonly available = new SequenceHeap();
  owner?: Consumer;
  lockedUntil = 0;
  state?: Buffer;
  updatedAt = Date.now();
  constructor(readonly id: string) {}

  isLocked(now: number): boolean {
    return this.owner !== undefined && this.lockedUntil > now;
  }
}

export class ReceiveQueue {
  readonly messages = new Map<number, BrokerMessage>();
  readonly sessions = new Map<string, SessionState>();
  readonly consumers = new Set<Consumer>();
  readonly scheduled = new Set<BrokerMessage>();
  private readonly available = new SequenceHeap();
  deadLetterQueue?: ReceiveQueue;

  constructor(
    /** Address as clients use it, e.g. `orders`, `events/Subscriptions/audit/$DeadLetterQueue`. */
    readonly displayPath: string,
    /** Key of the entity in the store (the main entity's key for both it and its dead-letter queue). */
    readonly storeKey: string,
    readonly subQueue: SubQueue,
    readonly settings: ReceiveEntitySettings,
  ) {}

  get requiresSession(): boolean {
    return this.subQueue === 'main' && this.settings.requiresSession;
  }

  stateOf(message: BrokerMessage, now: number): MessageState {
    if (message.deferred) return 'deferred';
    if (message.scheduledAt !== undefined && message.scheduledAt > now) return 'scheduled';
    return 'active';
  }

  /** Adds a message that is now durable; makes it available unless it is deferred or scheduled for later. */
  add(message: BrokerMessage, now: number): boolean {
    this.messages.set(message.sequenceNumber, message);
    if (message.deferred) return false;
    if (message.scheduledAt !== undefined && message.scheduledAt > now) {
      this.scheduled.add(message);
      return false;
    }
    this.makeAvailable(message);
    return true;
  }

  remove(message: BrokerMessage): void {
    this.messages.delete(message.sequenceNumber);
    this.scheduled.delete(message);
    message.indexed = false;
    message.lock = undefined;
  }

  makeAvailable(message: BrokerMessage): void {
    message.lock = undefined;
    if (message.indexed || !this.messages.has(message.sequenceNumber)) return;
    message.indexed = true;
    if (this.requiresSession && message.sessionId !== undefined) {
      this.session(message.sessionId).available.push(message.sequenceNumber);
    } else {
      this.available.push(message.sequenceNumber);
    }
  }

  session(id: string): SessionState {
    let session = this.sessions.get(id);
    if (!session) {
      session = new SessionState(id);
      this.sessions.set(id, session);
    }
    return session;
  }

  /** Takes the oldest available message (of the session, if given) out of the index. */
  takeNext(session?: SessionState): BrokerMessage | undefined {
    const heap = session ? session.available : this.available;
    for (;;) {
      const seq = heap.pop();
      if (seq === undefined) return undefined;
      const message = this.messages.get(seq);
      if (message && message.indexed) {
        message.indexed = false;
        return message;
      }
    }
  }

  /** True when the session has a message a receiver could take now. */
  hasAvailable(session: SessionState): boolean {
    const heap = session.available;
    for (;;) {
      const seq = heap.peek();
      if (seq === undefined) return false;
      const message = this.messages.get(seq);
      if (message && message.indexed) return true;
      heap.pop();
    }
  }

  /** The unlocked session whose oldest available message is the oldest, if any. */
  nextAvailableSession(now: number): SessionState | undefined {
    let best: SessionState | undefined;
    for (const session of this.sessions.values()) {
      if (session.isLocked(now) || !this.hasAvailable(session)) continue;
      if (!best || session.available.peek()! < best.available.peek()!) best = session;
    }
    return best;
  }

  /** Messages from a sequence number on, in order (for peek). */
  inOrderFrom(fromSequenceNumber: number, max: number, sessionId?: string): BrokerMessage[] {
    const keys: number[] = [];
    for (const [seq, message] of this.messages) {
      if (seq >= fromSequenceNumber && (sessionId === undefined || message.sessionId === sessionId)) keys.push(seq);
    }
    keys.sort((a, b) => a - b);
    return keys.slice(0, max).map((k) => this.messages.get(k)!);
  }
}
