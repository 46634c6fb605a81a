// Audit of outbox status transitions, built in the chaos harness: neither the publisher nor the Dataverse emulator keeps
// a transition log (the emulator has no auditing), so the harness follows the outbox table's change-tracking delta
// (obx_outboxmessage is change-tracked, spec) about once a second and checks every status move it observes against the
// engine's status machine (canTransition): a move the engine may not make, directly or through legal steps, is a
// regression. Limits: moves between two reads coalesce (A -> B -> A within one interval is invisible), and reads fail
// while Dataverse is down or faulted (the next read covers the gap, coalesced).
import { canTransition, OutboxMessage, OutboxStatus, statusName, type OutboxStatusValue } from '@dataverse-outbox/contract';
import type { DataverseClient } from '@dataverse-outbox/publisher-function';

const c = OutboxMessage.columns;
const values = Object.values(OutboxStatus) as OutboxStatusValue[];

/** Statuses the engine can reach from `from` through one or more allowed moves. */
function reachable(from: OutboxStatusValue): Set<OutboxStatusValue> {
  const seen = new Set<OutboxStatusValue>();
  const todo = [from];
  while (todo.length) {
    const s = todo.pop()!;
    for (const t of values) {
      if (canTransition(s, t, 'engine') && !seen.has(t)) {
        seen.add(t);
        todo.push(t);
      }
    }
  }
  return seen;
}
const reach = new Map(values.map((v) => [v, reachable(v)]));

export interface StatusRegression {
  rowId: string;
  messageId: string;
  from: string;
  to: string;
  at: string;
}

export interface AuditSummary {
  method: 'change-tracking delta of obx_outboxmessage, sampled by the harness';
  reads: number;
  failedReads: number;
  /** Status changes observed (coalesced within one read interval). */
  transitionsObserved: number;
  rowsSeen: number;
  regressions: StatusRegression[];
  intervalMs: number;
}

export class StatusAudit {
  private readonly last = new Map<string, { status: OutboxStatusValue; messageId: string }>();
  private deltaLink?: string;
  private timer?: Promise<void>;
  private stopping = false;
  private reads = 0;
  private failedReads = 0;
  private transitions = 0;
  readonly regressions: StatusRegression[] = [];

  constructor(
    private readonly client: DataverseClient,
    private readonly intervalMs = 1000,
  ) {}

  start(): void {
    this.timer = (async () => {
      while (!this.stopping) {
        await this.readOnce().catch(() => void this.failedReads++);
        if (!this.stopping) await new Promise((r) => setTimeout(r, this.intervalMs));
      }
    })();
  }

  /** One delta read (the first is the initial synchronisation). */
  async readOnce(): Promise<void> {
    let path: string | undefined = this.deltaLink ?? `${OutboxMessage.entitySetName}?$select=${[c.id, c.messageId, c.status].join(',')}`;
    const pending: Record<string, unknown>[] = [];
    let nextDelta: string | undefined;
    while (path) {
      const res = await this.client.request('GET', path, {
        headers: { Prefer: 'odata.track-changes,odata.maxpagesize=5000' },
        what: 'status audit read',
        abortSignal: AbortSignal.timeout(20_000),
      });
      const body = res.body as { value?: Record<string, unknown>[]; '@odata.nextLink'?: string; '@odata.deltaLink'?: string };
      pending.push(...(body.value ?? []));
      path = body['@odata.nextLink'];
      nextDelta = body['@odata.deltaLink'] ?? nextDelta;
    }
    this.reads++;
    // Apply only a complete read, so a failure in the middle never half-applies.
    for (const r of pending) this.observe(r);
    if (nextDelta) this.deltaLink = nextDelta;
  }

  private observe(r: Record<string, unknown>): void {
    const id = typeof r[c.id] === 'string' ? (r[c.id] as string) : undefined;
    const status = r[c.status];
    if (!id || typeof status !== 'number') return; // deleted entries (none in a chaos run) and partial rows
    const prev = this.last.get(id);
    const messageId = typeof r[c.messageId] === 'string' ? (r[c.messageId] as string) : (prev?.messageId ?? '');
    if (prev && prev.status !== status) {
      this.transitions++;
      if (!reach.get(prev.status)?.has(status as OutboxStatusValue)) {
        this.regressions.push({ rowId: id, messageId, from: statusName(prev.status), to: statusName(status), at: new Date().toISOString() });
      }
    }
    this.last.set(id, { status: status as OutboxStatusValue, messageId });
  }

  async stop(): Promise<void> {
    this.stopping = true;
    await this.timer;
    // A last read so the final statuses are compared too.
    await this.readOnce().catch(() => void this.failedReads++);
  }

  summary(): AuditSummary {
    return {
      method: 'change-tracking delta of obx_outboxmessage, sampled by the harness',
      reads: this.reads,
      failedReads: this.failedReads,
      transitionsObserved: this.transitions,
      rowsSeen: this.last.size,
      regressions: [...this.regressions],
      intervalMs: this.intervalMs,
    };
  }
}
