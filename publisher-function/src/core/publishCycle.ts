// One publish cycle: lease -> read due rows (one request) -> reject bad rows -> order per key -> send per target in
// batches -> one conditional bulk write of every outcome. Knows nothing of HTTP or AMQP: everything goes through ports.
import { HELD_BEHIND_KEY_REASON, isScheduled, MessageFormat, normaliseEntityName, OutboxStatus, type MessageFormatName } from '@dataverse-outbox/contract';
import { statusWhenSent } from './acks';
import { backoffDelayInMs, type BackoffOptions } from './backoff';
import { describeError } from './errors';
import type { LeaseKeeper } from './lease';
import { toOutboundMessage, type OutboundMessage } from './mapping';
import { groupByTarget, planOrdering, type KeyBlockers } from './ordering';
import { startSendSpan, type SendSpan } from './tracing';
import type { Clock, Logger, MessageSenderPort, OperationOptions, OutboxStorePort, PublisherMetrics, SendOutcome } from './ports';
import { TargetUnavailableError } from './ports';
import { truncateError, type OutboxRow, type OutboxRowChanges, type RowUpdate } from './row';
import type { OutboxSettings } from './settings';
import { sizeProblem, validateRow } from './validation';

export interface PublishCycleDeps {
  store: OutboxStorePort;
  sender: MessageSenderPort;
  lease: LeaseKeeper;
  blockers: KeyBlockers;
  clock: Clock;
  logger: Logger;
  metrics: PublisherMetrics;
  settings: OutboxSettings;
  backoff?: BackoffOptions;
  random?: () => number;
  /** The Dataverse environment URL: the CloudEvents `source` of targets set to a CloudEvents format (obx_MessageFormats). */
  environmentUrl?: string;
}

export interface PublishCycleResult {
  /** 'no-lease': another instance publishes this scope; 'disabled': obx_PublisherEnabled is off. */
  outcome: 'ran' | 'no-lease' | 'disabled';
  read: number;
  published: number;
  failed: number;
  retrying: number;
  held: number;
  /** Rows whose status changed under us and were left as they are (never regressed). */
  skipped: number;
  leaseLost: boolean;
  /** The batch was full: more rows are probably due, run again at once. */
  more: boolean;
  /** Sent rows that could not be marked (they stay Pending and are resent with the same messageId). */
  markError?: string;
  /** Nothing was due: when the next Pending row comes due (a scheduled event or a retry), if the store said. */
  nextDueOn?: Date;
  /** Settles when the cycle's outcomes are written (already settled unless `deferMarks`). */
  marked: Promise<MarkSummary>;
}

export interface MarkSummary {
  skipped: number;
  markError?: string;
}

export interface PublishCycleOptions extends OperationOptions {
  /**
   * Rows whose outcome is still being written by an earlier cycle (pipelining): they are skipped when read, and
   * this cycle's rows are added while its own write runs.
   */
  inFlight?: Set<string>;
  /** Return as soon as the messages are sent; the bulk write continues in `marked`. */
  deferMarks?: boolean;
  /**
   * Waits for the bulk writes of earlier cycles (pipelining). Called before the per-key waits are rebuilt from the
   * store on taking the lease, so that the rebuild sees the backoffs and holds those writes record.
   */
  settleInFlight?: () => Promise<void>;
}

interface Outcome {
  row: OutboxRow;
  changes: OutboxRowChanges;
  kind: 'published' | 'failed' | 'retrying' | 'held';
  target: string;
  code?: string;
}

const emptyResult = (outcome: PublishCycleResult['outcome']): PublishCycleResult => ({
  outcome,
  read: 0,
  published: 0,
  failed: 0,
  retrying: 0,
  held: 0,
  skipped: 0,
  leaseLost: false,
  more: false,
  marked: Promise.resolve({ skipped: 0 }),
});

/** Rebuilds the per-key blockers from the store; called when a publisher takes the lease. */
export async function loadBlockers(deps: Pick<PublishCycleDeps, 'store' | 'blockers' | 'clock'>, options: OperationOptions = {}): Promise<void> {
  const now = deps.clock.now();
  const rows = await deps.store.readBackingOff(now, options);
  deps.blockers.clear();
  // Every waiting row blocks its key: backing off, or held behind one. A scheduled event does not: it joins its key's
  // order when it comes due (contract/src/scheduling.ts).
  for (const row of rows) {
    if (row.sessionKey && row.nextAttemptOn && !isScheduled(row, now)) deps.blockers.block(row.sessionKey, { rowId: row.id, sequence: row.sequence, until: row.nextAttemptOn });
  }
}

export async function runPublishCycle(deps: PublishCycleDeps, options: PublishCycleOptions = {}): Promise<PublishCycleResult> {
  const { store, sender, lease, blockers, clock, logger, settings } = deps;
  if (!settings.publisherEnabled) return emptyResult('disabled');
  const generation = lease.generation;
  if (!(await lease.ensure(options))) return emptyResult('no-lease');
  const inFlight = options.inFlight ?? new Set<string>();
  if (lease.generation !== generation) {
    // Rows whose backoff or hold is still being written would look free in the store; let those writes land first.
    if (inFlight.size > 0) await options.settleInFlight?.();
    await loadBlockers(deps, options);
  }

  const now = clock.now();
  // Read a little more than a batch when earlier cycles are still writing, and skip their rows.
  const top = Math.min(5000, settings.batchSize + inFlight.size);
  // Keys blocked behind a row backing off are left out of the query: their waiting rows cost nothing per retry.
  // Skip the rows in flight when the read STARTS: a write that lands while the read runs leaves its row out of
  // `inFlight`, but the read may have seen it still Pending, and sending it again would be a second send.
  const writingAtRead = new Set(inFlight);
  const fetched = await store.readDue({ now, top, excludeKeys: blockers.excludedKeys(now, inFlight) }, options);
  const rows = fetched.filter((r) => !writingAtRead.has(r.id) && !inFlight.has(r.id)).slice(0, settings.batchSize);
  const result = emptyResult('ran');
  result.read = rows.length;
  result.more = fetched.length >= top && rows.length > 0;
  if (rows.length === 0) {
    // Idle: learn when the next row comes due, so a scheduled event is sent on time, not after the longest idle wait.
    if (fetched.length === 0 && store.readNextDueOn) result.nextDueOn = await store.readNextDueOn(now, options);
    return result;
  }

  const outcomes: Outcome[] = [];
  const fail = (row: OutboxRow, code: string, reason: string): void => {
    outcomes.push({ row, kind: 'failed', code, target: row.target, changes: { status: OutboxStatus.Failed, lastError: truncateError(reason), nextAttemptOn: null } });
    if (row.sessionKey) blockers.releaseRow(row.sessionKey, row.id);
  };

  // 1. Reject what can never be sent (target, expiry, properties, JSON) before touching Service Bus. From here on a
  //    row carries its normalised target: the form checked against obx_AllowedTargets is the one sent to.
  const checked: OutboxRow[] = [];
  const messageFormatOf = (target: string): MessageFormatName => settings.messageFormats.get(target) ?? MessageFormat.Default;
  for (const row of rows) {
    const problem = validateRow(row, { allowedTargets: settings.allowedTargets, now, messageFormatOf, environmentUrl: deps.environmentUrl });
    if (problem) fail(row, problem.code, problem.reason);
    else checked.push({ ...row, target: normaliseEntityName(row.target)! });
  }

  // 2. Per target: can it be reached, and how large may a message be?
  const targetProblems = new Map<string, TargetUnavailableError>();
  const maxSizes = new Map<string, number>();
  for (const target of new Set(checked.map((r) => r.target))) {
    try {
      maxSizes.set(target, await sender.maxMessageSizeInBytes(target, options));
    } catch (e) {
      targetProblems.set(target, e instanceof TargetUnavailableError ? e : new TargetUnavailableError(target, 'ServiceUnavailable', false, describeError(e)));
    }
  }
  const sendable: OutboxRow[] = [];
  for (const row of checked) {
    const max = maxSizes.get(row.target);
    const problem = max === undefined ? undefined : sizeProblem(row, row.target, max);
    if (problem) fail(row, problem.code, problem.reason);
    else sendable.push(row);
  }

  // 3. Per-key order: rows behind a key that is backing off wait for it. Which holds are written is decided once the
  //    cycle knows every blocked key (step 4 may block more).
  const plan = planOrdering(sendable, blockers, { now, inFlight });
  const holds: { row: OutboxRow; behindUntil: Date }[] = [];
  const hold = (row: OutboxRow, behindUntil: Date): void => void holds.push({ row, behindUntil });
  for (const h of plan.held) hold(h.row, h.until);

  // 4. Send per target; a transient failure of a key holds back that key's later rows in this cycle.
  const failedKeys = new Map<string, Date>();
  const retry = (row: OutboxRow, code: string, reason: string): void => {
    const attempts = row.attempts + 1;
    if (attempts >= settings.maxAttempts) {
      fail(row, code, `Gave up after ${attempts} attempts (obx_MaxAttempts ${settings.maxAttempts}); last error: ${reason}`);
      outcomes[outcomes.length - 1]!.changes.attempts = attempts;
      return;
    }
    const until = new Date(now.getTime() + backoffDelayInMs(attempts, deps.backoff, deps.random));
    // A consumer's rejection recorded before the Published mark landed (obx_ackedon + "Rejected by consumer ...") is
    // the row's answer: statusWhenSent reads it when the row is finally marked, so a send failure must not overwrite it
    // (the row would end Acked instead of DeadLettered). The attempt is still counted and logged.
    const lastError = statusWhenSent(row) === OutboxStatus.DeadLettered ? {} : { lastError: truncateError(`Attempt ${attempts} failed: ${reason}`) };
    outcomes.push({ row, kind: 'retrying', code, target: row.target, changes: { attempts, nextAttemptOn: until, ...lastError } });
    if (row.sessionKey) {
      blockers.block(row.sessionKey, { rowId: row.id, sequence: row.sequence, until });
      if (!failedKeys.has(row.sessionKey)) failedKeys.set(row.sessionKey, until);
    }
  };

  for (const group of groupByTarget(plan.attempt)) {
    const attempt: OutboxRow[] = [];
    for (const row of group.rows) {
      const heldUntil = row.sessionKey ? failedKeys.get(row.sessionKey) : undefined;
      if (heldUntil) hold(row, heldUntil);
      else attempt.push(row);
    }
    if (attempt.length === 0) continue;
    // A transient failure counts an attempt for the first row of each key only; its later rows are held behind it.
    const retryOrHold = (row: OutboxRow, code: string, reason: string): void => {
      const heldUntil = row.sessionKey ? failedKeys.get(row.sessionKey) : undefined;
      if (heldUntil) hold(row, heldUntil);
      else retry(row, code, reason);
    };
    const unavailable = targetProblems.get(group.target);
    if (unavailable) {
      for (const row of attempt) {
        if (unavailable.permanent) fail(row, unavailable.code, unavailable.message);
        else retryOrHold(row, unavailable.code, unavailable.message);
      }
      continue;
    }
    // A lost lease stops publishing at once: nothing more is sent in this cycle.
    if (!lease.isHeld()) {
      result.leaseLost = true;
      logger.warn('lease lost during the cycle; stopping before sending', { scope: lease.scope, target: group.target, unsent: attempt.length });
      break;
    }
    // Mapped one by one: a row that cannot become a message fails alone (validation should have caught it first).
    const mapped: { row: OutboxRow; message: OutboundMessage; span: SendSpan }[] = [];
    for (const row of attempt) {
      // The send span: a child of the row's trace context (a new trace without one); the message carries its context.
      const span = startSendSpan(row);
      try {
        mapped.push({ row, span, message: toOutboundMessage(row, { format: messageFormatOf(group.target), environmentUrl: deps.environmentUrl, traceParent: span.traceParent }) });
      } catch (e) {
        span.end({ ok: false, code: 'EncodingFailed' });
        // The error's name only: its message may quote the payload.
        fail(row, 'EncodingFailed', `The row could not be turned into a message (${e instanceof Error ? e.name : 'error'}). Fix the producer, then retry or cancel the row.`);
      }
    }
    attempt.splice(0, attempt.length, ...mapped.map((m) => m.row));
    if (attempt.length === 0) continue;
    let sendOutcomes: SendOutcome[];
    try {
      sendOutcomes = await sender.send(group.target, mapped.map((m) => m.message), options);
    } catch (e) {
      const reason = describeError(e);
      sendOutcomes = attempt.map(() => ({ ok: false, permanent: false, code: 'SendFailed', reason }));
    }
    mapped.forEach((m, i) => {
      const o = sendOutcomes[i];
      m.span.end(o && o.ok ? { ok: true } : { ok: false, code: o && !o.ok ? o.code : 'SendFailed' });
    });
    // The moment of sending, per row, is what order per key depends on (marks are written later, and may fail).
    logger.debug('sent', {
      scope: lease.scope,
      target: group.target,
      // "<obx_sessionkey>#<obx_sequence>" per row, in the order sent.
      sent: attempt.filter((_, i) => sendOutcomes[i]?.ok).map((row) => `${row.sessionKey ?? ''}#${row.sequence}`),
      notSent: attempt.filter((_, i) => !sendOutcomes[i]?.ok).map((row) => `${row.sessionKey ?? ''}#${row.sequence}`),
    });
    attempt.forEach((row, i) => {
      const o = sendOutcomes[i] ?? { ok: false, permanent: false, code: 'SendFailed', reason: 'no outcome reported' };
      if (o.ok) {
        const status = statusWhenSent(row);
        outcomes.push({
          row,
          kind: 'published',
          target: row.target,
          changes: { status, publishedOn: now, attempts: row.attempts + 1, nextAttemptOn: null, ...(status === OutboxStatus.Published ? { lastError: null } : {}) },
        });
        if (row.sessionKey) blockers.releaseRow(row.sessionKey, row.id);
      } else if (o.permanent) {
        fail(row, o.code, o.reason);
      } else {
        retryOrHold(row, o.code, o.reason);
      }
    });
  }
  if (result.leaseLost) result.more = false;
  recordHolds(holds, blockers, now, inFlight, outcomes);

  // 5. One conditional bulk write for every outcome; rows that changed meanwhile are re-read and never regressed.
  for (const o of outcomes) {
    if (o.kind === 'published') result.published++;
    else if (o.kind === 'failed') result.failed++;
    else if (o.kind === 'retrying') result.retrying++;
    else result.held++;
  }
  // Unwritten holds (no changes) cost nothing: they are neither written nor in flight.
  const toWrite = outcomes.filter((o) => Object.keys(o.changes).length > 0);
  const ids = toWrite.map((o) => o.row.id);
  for (const id of ids) inFlight.add(id);
  result.marked = applyOutcomes(deps, toWrite, options)
    .then((skipped): MarkSummary => {
      reportOutcomes(deps, outcomes, now, true);
      return { skipped };
    })
    .catch((e: unknown): MarkSummary => {
      const markError = describeError(e);
      logger.error('could not record the cycle outcome; sent rows stay Pending and will be resent with the same messageId', {
        scope: lease.scope,
        error: markError,
        rowIds: outcomes.filter((o) => o.kind === 'published').map((o) => o.row.id),
      });
      reportOutcomes(deps, outcomes, now, false);
      return { skipped: 0, markError };
    })
    .finally(() => {
      for (const id of ids) inFlight.delete(id);
    });
  if (!options.deferMarks) {
    const summary = await result.marked;
    result.skipped = summary.skipped;
    result.markError = summary.markError;
  }
  return result;
}

/**
 * A held row of a key the next publish query leaves out is not written: it is simply not read again until its key is
 * free (a retry costs one write, the failing row's, however many rows wait). A key beyond the query's bound falls back
 * to a written hold (obx_nextattempton pushed just past its blocker's), and that held row blocks its key too, should the
 * write of the row it waits for be lost.
 */
function recordHolds(holds: readonly { row: OutboxRow; behindUntil: Date }[], blockers: KeyBlockers, now: Date, inFlight: ReadonlySet<string>, outcomes: Outcome[]): void {
  if (holds.length === 0) return;
  const excluded = new Set(blockers.excludedKeys(now, inFlight));
  for (const { row, behindUntil } of holds) {
    if (row.sessionKey && excluded.has(row.sessionKey)) {
      outcomes.push({ row, kind: 'held', target: row.target, changes: {} });
      continue;
    }
    const until = new Date(behindUntil.getTime() + 1);
    // A reason tells a held row from a scheduled event (both Pending, 0 attempts, obx_nextattempton ahead); one already
    // there (an earlier error, or a consumer's rejection statusWhenSent reads) says so too, and stays.
    const lastError = row.lastError ? {} : { lastError: HELD_BEHIND_KEY_REASON };
    outcomes.push({ row, kind: 'held', target: row.target, changes: { nextAttemptOn: until, ...lastError } });
    if (row.sessionKey) blockers.block(row.sessionKey, { rowId: row.id, sequence: row.sequence, until });
  }
}

async function applyOutcomes(deps: PublishCycleDeps, outcomes: readonly Outcome[], options: OperationOptions): Promise<number> {
  let pending: Outcome[] = [...outcomes];
  let skipped = 0;
  for (let round = 0; round < 3 && pending.length > 0; round++) {
    const updates: RowUpdate[] = pending.map((o) => ({ id: o.row.id, etag: o.row.etag, changes: o.changes }));
    const { conflicts } = await deps.store.applyUpdates(updates, options);
    if (conflicts.length === 0) return skipped;
    const conflicted = new Set(conflicts);
    const fresh = new Map((await deps.store.readByIds(conflicts, options)).map((r) => [r.id, r]));
    const next: Outcome[] = [];
    for (const o of pending) {
      if (!conflicted.has(o.row.id)) continue;
      const row = fresh.get(o.row.id);
      if (!row || row.status !== OutboxStatus.Pending) {
        // Acked, DeadLettered, Cancelled (or deleted) meanwhile: a late mark must not overwrite it (invariant 6).
        skipped++;
        deps.logger.info('row changed while it was being published; left as it is', { rowId: o.row.id, messageId: o.row.messageId, status: row?.status ?? 'deleted' });
        continue;
      }
      const changes = { ...o.changes };
      if (o.kind === 'published') {
        // An acknowledgement may have been recorded on the row meanwhile: apply it with the mark.
        changes.status = statusWhenSent(row);
        if (changes.status !== OutboxStatus.Published) delete changes.lastError;
      } else if (o.kind === 'retrying' && statusWhenSent(row) === OutboxStatus.DeadLettered) {
        delete changes.lastError; // a rejection recorded meanwhile stays the row's answer (see retry above)
      }
      next.push({ ...o, row, changes });
    }
    pending = next;
  }
  if (pending.length > 0) throw new Error(`${pending.length} row(s) kept changing while being marked`);
  return skipped;
}

function reportOutcomes(deps: PublishCycleDeps, outcomes: readonly Outcome[], now: Date, marked: boolean): void {
  const { metrics, logger } = deps;
  for (const o of outcomes) {
    if (o.kind === 'published') {
      metrics.published(1, o.target);
      if (o.row.createdOn) metrics.publishLatency(now.getTime() - o.row.createdOn.getTime(), o.target);
      logger.debug('published', { rowId: o.row.id, messageId: o.row.messageId, target: o.target, sequence: o.row.sequence, marked });
    } else if (o.kind === 'failed') {
      metrics.failed(1, o.target, o.code ?? 'Unknown');
      logger.warn('row failed', { rowId: o.row.id, messageId: o.row.messageId, target: o.target, code: o.code, reason: o.changes.lastError ?? undefined });
    } else if (o.kind === 'retrying') {
      metrics.retried(1, o.target);
      logger.info('row will be retried', { rowId: o.row.id, messageId: o.row.messageId, target: o.target, code: o.code, nextAttemptOn: o.changes.nextAttemptOn?.toISOString() });
    }
  }
}
