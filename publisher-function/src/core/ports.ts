// Ports: what the core needs from the world. Adapters (Dataverse, Service Bus, timers) implement them; tests may too.
import type { OutboundMessage } from './mapping';
import type { OutboxRow, RowUpdate } from './row';

/** Base of every options object: cancellation passed down to I/O and retries. */
export interface OperationOptions {
  abortSignal?: AbortSignal;
}

export interface Clock {
  now(): Date;
}

export const systemClock: Clock = { now: () => new Date() };

export interface DueQuery {
  now: Date;
  top: number;
  /** Bounded by the caller (ordering's EXCLUSION_LIMITS), so the query stays within URL limits. */
  excludeKeys?: readonly string[];
}

export interface OutboxStorePort {
  /**
   * Pending rows with obx_nextattempton empty or due, in obx_sequence order, at most `top`: one request. Rows whose
   * obx_sessionkey is in `excludeKeys` (keys blocked behind a row backing off) are left out; rows without a key never.
   */
  readDue(query: DueQuery, options?: OperationOptions): Promise<OutboxRow[]>;
  /** Pending rows with an ordering key whose obx_nextattempton is in the future (rows backing off, and rows held behind them). */
  readBackingOff(now: Date, options?: OperationOptions): Promise<OutboxRow[]>;
  /**
   * The earliest obx_nextattempton after `now` of a Pending row (a scheduled event or a retry), or undefined: one
   * `$top=1` read, made when a cycle found nothing due, so the loop wakes when the next row comes due.
   */
  readNextDueOn?(now: Date, options?: OperationOptions): Promise<Date | undefined>;
  readByIds(ids: readonly string[], options?: OperationOptions): Promise<OutboxRow[]>;
  /**
   * Applies the changes in as few requests as the store can (one $batch). An update with an etag is applied only
   * while the row still has that version; the ids of rows that changed meanwhile come back as conflicts, untouched.
   */
  applyUpdates(updates: readonly RowUpdate[], options?: OperationOptions): Promise<{ conflicts: string[] }>;
}

export interface LeaseState {
  scope: string;
  owner?: string;
  until?: Date;
}

export interface LeasePort {
  /** Takes the lease if it is free, expired or already ours, with a conditional write; false when another owner holds it or wins the race. */
  tryAcquire(scope: string, owner: string, until: Date, options?: OperationOptions): Promise<boolean>;
  /** Gives the lease up if we hold it (conditional write; a no-op otherwise). `force` releases whoever holds it (operator). */
  release(scope: string, owner: string | undefined, options?: OperationOptions & { force?: boolean }): Promise<boolean>;
  read(scope: string, options?: OperationOptions): Promise<LeaseState | undefined>;
  /** Every lease of a scope: its own and those named `<scope>:...` (its partitions and members). One request. */
  listScope(scope: string, options?: OperationOptions): Promise<LeaseState[]>;
}

export type SendOutcome = { ok: true } | { ok: false; permanent: boolean; code: string; reason: string };

/** Thrown by MessageSenderPort when a whole target cannot be used. */
export class TargetUnavailableError extends Error {
  override readonly name = 'TargetUnavailableError';
  constructor(
    readonly target: string,
    readonly code: string,
    readonly permanent: boolean,
    message: string,
  ) {
    super(message);
  }
}

export interface MessageSenderPort {
  /** The largest message the target accepts. Throws TargetUnavailableError (e.g. the entity does not exist). */
  maxMessageSizeInBytes(target: string, options?: OperationOptions): Promise<number>;
  /** Sends in order, in as few batches as fit; one outcome per message, same order. */
  send(target: string, messages: readonly OutboundMessage[], options?: OperationOptions): Promise<SendOutcome[]>;
}

export type LogFields = Record<string, string | number | boolean | null | undefined | readonly string[]>;

/** Structured logs: ids and counts only, never payloads or secrets. */
export interface Logger {
  debug(message: string, fields?: LogFields): void;
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
}

export const silentLogger: Logger = { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} };

/** Metrics the engine reports; the telemetry module maps them onto OpenTelemetry instruments. */
export interface PublisherMetrics {
  published(count: number, target: string): void;
  failed(count: number, target: string, code: string): void;
  retried(count: number, target: string): void;
  /** Commit (createdon) to publish, per message. */
  publishLatency(ms: number, target: string): void;
  backlog(count: number): void;
  /** Age in seconds of the oldest Pending row, 0 when none is Pending (stall alerts: spec invariant 7). */
  pendingAge?(oldestPendingAgeSeconds: number): void;
  dataverseRequest?(kind: string): void;
  /** An acknowledgement or dead letter that can never be applied (dead-lettered or set aside alone), by reason code. */
  poisonNotice?(source: 'ack' | 'dead-letter', reason: string): void;
}

export const noMetrics: PublisherMetrics = { published: () => {}, failed: () => {}, retried: () => {}, publishLatency: () => {}, backlog: () => {} };
