// Health (invariant 7): stalls must be visible, not only counts.
import { OutboxStatus, type OutboxStatusName } from '@dataverse-outbox/contract';
import type { HealthThresholds } from './settings';

export type HealthLevel = 'green' | 'amber' | 'red';

export interface HealthInput {
  now: Date;
  counts: Partial<Record<OutboxStatusName, number>>;
  /** Statuses whose count is a lower bound (more rows than one aggregate query may count). */
  countsCapped?: readonly OutboxStatusName[];
  oldestPendingCreatedOn?: Date;
  lastPublishedOn?: Date;
  leaseOwner?: string;
  leaseUntil?: Date;
  lastError?: string;
  publisherEnabled: boolean;
  thresholds: HealthThresholds;
}

export interface OutboxHealth {
  level: HealthLevel;
  reasons: string[];
  counts: Record<OutboxStatusName, number>;
  /** Statuses whose count is a lower bound: at least that many rows (shown as "50,000+"). Usually empty. */
  countsCapped: OutboxStatusName[];
  oldestPendingAgeSeconds: number | null;
  secondsSinceLastPublish: number | null;
  leaseOwner: string | null;
  leaseActive: boolean;
  lastError: string | null;
  checkedAt: string;
}

const rank: Record<HealthLevel, number> = { green: 0, amber: 1, red: 2 };

/** A count for people: "1234", or "50,000+" when it is a lower bound. */
export function formatCount(n: number, capped: boolean): string {
  return capped ? `${n.toLocaleString('en-US')}+` : String(n);
}

/**
 * Amber: the oldest pending row is older than maxPendingAgeSeconds, or the publisher is switched off with work waiting.
 * Red: twice that age (a stall), or more Failed / DeadLettered rows than allowed (they need an operator).
 */
export function computeHealth(input: HealthInput): OutboxHealth {
  const counts = Object.fromEntries(
    (Object.keys(OutboxStatus) as OutboxStatusName[]).map((k) => [k, input.counts[k] ?? 0]),
  ) as Record<OutboxStatusName, number>;
  const capped = (Object.keys(OutboxStatus) as OutboxStatusName[]).filter((k) => input.countsCapped?.includes(k));
  const show = (k: OutboxStatusName): string => formatCount(counts[k], capped.includes(k));
  const t = input.thresholds;
  const age = input.oldestPendingCreatedOn ? Math.max(0, Math.round((input.now.getTime() - input.oldestPendingCreatedOn.getTime()) / 1000)) : null;
  const sinceLast = input.lastPublishedOn ? Math.max(0, Math.round((input.now.getTime() - input.lastPublishedOn.getTime()) / 1000)) : null;
  const leaseActive = !!input.leaseUntil && input.leaseUntil.getTime() > input.now.getTime();
  let level: HealthLevel = 'green';
  const reasons: string[] = [];
  const raise = (l: HealthLevel, why: string): void => {
    if (rank[l] > rank[level]) level = l;
    reasons.push(why);
  };
  if (age !== null && age > t.maxPendingAgeSeconds) {
    raise(age > 2 * t.maxPendingAgeSeconds ? 'red' : 'amber', `oldest pending row is ${age}s old (threshold ${t.maxPendingAgeSeconds}s)`);
  }
  if (counts.Failed > t.maxFailed) raise('red', `${show('Failed')} Failed row(s) (threshold ${t.maxFailed})`);
  if (counts.DeadLettered > t.maxDeadLettered) raise('red', `${show('DeadLettered')} DeadLettered row(s) (threshold ${t.maxDeadLettered})`);
  if (!input.publisherEnabled && counts.Pending > 0) raise('amber', `publisher is disabled (obx_PublisherEnabled) with ${show('Pending')} pending row(s)`);
  if (counts.Pending > 0 && !leaseActive) raise('amber', 'rows are pending but no publisher holds the lease');
  return {
    level,
    reasons,
    counts,
    countsCapped: capped,
    oldestPendingAgeSeconds: age,
    secondsSinceLastPublish: sinceLast,
    leaseOwner: input.leaseOwner ?? null,
    leaseActive,
    lastError: input.lastError ?? null,
    checkedAt: input.now.toISOString(),
  };
}
