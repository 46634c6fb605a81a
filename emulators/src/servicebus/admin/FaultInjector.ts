// Faults a test can switch on to see how clients cope: refused attaches and slow sends, for all entities or one.
// (Dropping every connection is an action on the AMQP server, not a standing fault.)
import { normalizeEntityPath } from '../core/Broker';

export interface RefuseAttachesOptions {
  /** How long attaches are refused. */
  durationInMs: number;
  /** Only this entity (queue, topic or subscription path); all entities when omitted. */
  entity?: string;
}

export interface DelaySendsOptions {
  /** Added before each send is acknowledged. */
  delayInMs: number;
  /** How long the delay applies; until cleared when omitted. */
  durationInMs?: number;
  entity?: string;
}

interface Fault {
  entity?: string;
  until: number;
}

export interface FaultsSnapshot {
  refusedAttaches: Array<{ entity?: string; until: string }>;
  delayedSends: Array<{ entity?: string; delayInMs: number; until?: string }>;
}

export class FaultInjector {
  private refusals: Fault[] = [];
  private delays: Array<Fault & { delayInMs: number }> = [];

  refuseAttaches(options: RefuseAttachesOptions): void {
    if (!(options.durationInMs > 0)) throw new RangeError('durationInMs must be a positive number.');
    this.refusals.push({ entity: options.entity && normalizeEntityPath(options.entity), until: Date.now() + options.durationInMs });
  }

  delaySends(options: DelaySendsOptions): void {
    if (!(options.delayInMs >= 0)) throw new RangeError('delayInMs must be a non-negative number.');
    this.delays.push({
      entity: options.entity && normalizeEntityPath(options.entity),
      delayInMs: options.delayInMs,
      until: options.durationInMs === undefined ? Number.POSITIVE_INFINITY : Date.now() + options.durationInMs,
    });
  }

  clear(): void {
    this.refusals = [];
    this.delays = [];
  }

  /** True when an attach to this entity path must be refused now. */
  isAttachRefused(path: string): boolean {
    const now = Date.now();
    this.refusals = this.refusals.filter((f) => f.until > now);
    const key = normalizeEntityPath(path);
    return this.refusals.some((f) => f.entity === undefined || key === f.entity || key.startsWith(`${f.entity}/`));
  }

  /** The delay to add before acknowledging a send to this entity. */
  sendDelayFor(path: string): number {
    const now = Date.now();
    this.delays = this.delays.filter((f) => f.until > now);
    const key = normalizeEntityPath(path);
    return this.delays.filter((f) => f.entity === undefined || f.entity === key).reduce((max, f) => Math.max(max, f.delayInMs), 0);
  }

  snapshot(): FaultsSnapshot {
    const now = Date.now();
    return {
      refusedAttaches: this.refusals.filter((f) => f.until > now).map((f) => ({ entity: f.entity, until: new Date(f.until).toISOString() })),
      delayedSends: this.delays
        .filter((f) => f.until > now)
        .map((f) => ({ entity: f.entity, delayInMs: f.delayInMs, until: Number.isFinite(f.until) ? new Date(f.until).toISOString() : undefined })),
    };
  }
}
