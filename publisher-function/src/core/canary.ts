// The canary runner (issue 21): writes one canary row like any producer, then watches the row until it is Acked, a
// status it never leaves, or the timeout; reports each leg's time and, when it did not come back, the leg that stalled.
// Used by `outbox canary`, the deploy tool's verify step (through the CLI) and the Functions timer. Knows no HTTP.
import { canaryEventType, canaryMessageIdPrefix, canaryProgress, statusName, type CanaryLeg, type CanaryLegTime, type CanaryRowView } from '@dataverse-outbox/contract';

export interface CanaryPorts {
  /** Commits the canary row (an ordinary outbox row); returns its row id. */
  write(row: { messageId: string; target: string; eventType: string; payload: { canary: true; sentAt: string } }): Promise<string>;
  /** The row as it is now (undefined: not found, e.g. deleted). */
  read(rowId: string): Promise<(CanaryRowView & { messageId?: string }) | undefined>;
  now(): Date;
  sleep(ms: number): Promise<void>;
  newId(): string;
}

export interface CanaryOptions {
  target: string;
  /** How long to wait for the row to be Acked. */
  timeoutMs: number;
  /** Between reads of the row. */
  pollMs: number;
}

export interface CanaryResult {
  ok: boolean;
  rowId: string;
  messageId: string;
  target: string;
  committedAt: Date;
  legs: CanaryLegTime[];
  /** The leg that did not end in time (or where the row stopped: Failed, DeadLettered, Cancelled). */
  stalledLeg?: CanaryLeg;
  /** Final status name of the row. */
  status?: string;
  /** Why it did not come back, in words (includes the row's last error when it has one). */
  reason?: string;
  totalMs: number;
}

export async function runCanary(ports: CanaryPorts, options: CanaryOptions): Promise<CanaryResult> {
  const messageId = `${canaryMessageIdPrefix}${ports.newId()}`;
  const started = ports.now();
  const sentAt = started.toISOString();
  const rowId = await ports.write({ messageId, target: options.target, eventType: canaryEventType, payload: { canary: true, sentAt } });
  const deadline = started.getTime() + options.timeoutMs;
  for (;;) {
    const row = await ports.read(rowId);
    const now = ports.now();
    const base = { rowId, messageId, target: options.target, committedAt: row?.createdOn ?? started, totalMs: now.getTime() - started.getTime() };
    if (!row) return { ...base, ok: false, legs: [], stalledLeg: 'published', reason: 'the canary row disappeared (deleted?)' };
    const p = canaryProgress(row);
    if (p.pendingLeg === undefined) return { ...base, ok: true, legs: p.legs, status: statusName(row.status) };
    if (p.finished || now.getTime() >= deadline) {
      const why = p.finished ? `the row ended ${statusName(row.status)}` : `no ${p.pendingLeg} time within ${Math.round(options.timeoutMs / 1000)} s (row ${statusName(row.status)})`;
      return { ...base, ok: false, legs: p.legs, stalledLeg: p.pendingLeg, status: statusName(row.status), reason: `${why}${row.lastError ? `: ${row.lastError}` : ''}` };
    }
    await ports.sleep(Math.min(options.pollMs, Math.max(0, deadline - now.getTime())));
  }
}

/** One line per leg for people: `published  1.2 s`. */
export function describeCanary(r: CanaryResult): string {
  const lines = [`canary ${r.messageId} -> ${r.target} (row ${r.rowId})`];
  for (const l of r.legs) lines.push(`  ${l.leg.padEnd(10)} ${l.durationMs === undefined ? (l.leg === r.stalledLeg ? 'STALLED' : '-') : `${(l.durationMs / 1000).toFixed(1)} s`}`);
  lines.push(r.ok ? `  came back in ${(r.totalMs / 1000).toFixed(1)} s` : `  did not come back: stalled at "${r.stalledLeg}": ${r.reason}`);
  return lines.join('\n');
}
