// Keeps the scope's lease: one active publisher per scope. Renewed at half its duration; considered lost a safety
// margin before it ends (clock skew between instances), and then nothing more is sent.
import { describeValue } from '@dataverse-outbox/contract';
import type { Clock, LeasePort, Logger, OperationOptions } from './ports';
import { silentLogger, systemClock } from './ports';

/** The documented grammar of lease scope names (OUTBOX_SCOPE, `outbox status --scope`, `outbox release-lease --scope`). */
export const SCOPE_NAME_GRAMMAR = '1-200 characters: letters, digits, ".", "_", "-" and ":", starting with a letter or digit';
const SCOPE_NAME = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,199}$/;

/**
 * Why `scope` is not a valid lease scope name, or undefined. The name is the lease row's alternate key, so it travels in
 * URL paths: the grammar keeps out "#", "?", "%", "/", quotes and white space, which a mis-encoding turns into another
 * key or a broken request (the store encodes the key anyway).
 */
export function scopeNameProblem(scope: string): string | undefined {
  return SCOPE_NAME.test(scope) ? undefined : `must be ${SCOPE_NAME_GRAMMAR}; got ${describeValue(scope)}`;
}

export interface LeaseKeeperOptions {
  scope: string;
  owner: string;
  /** Default 60 s. */
  durationInMs?: number;
  /** Stop trusting the lease this long before it ends. Default 10% of the duration. */
  safetyMarginInMs?: number;
  clock?: Clock;
  logger?: Logger;
  /**
   * Asked after the lease was taken (not on renewals), before anything is sent under it: false gives it back at once.
   * Partitions use it to check that no publisher of another partition count is live (acquire, then verify: of two
   * instances that take conflicting leases at the same time, at least one sees the other).
   */
  confirm?: (options: OperationOptions) => Promise<boolean>;
}

export const DEFAULT_LEASE_DURATION_MS = 60_000;

export class LeaseKeeper {
  readonly scope: string;
  readonly owner: string;
  readonly durationInMs: number;
  private readonly margin: number;
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly confirm?: (options: OperationOptions) => Promise<boolean>;
  private until = 0;
  /** Bumped each time the lease is (re)taken after not being held: the runner rebuilds per-key state then. */
  generation = 0;

  constructor(
    private readonly port: LeasePort,
    options: LeaseKeeperOptions,
  ) {
    const problem = scopeNameProblem(options.scope);
    if (problem) throw new RangeError(`lease scope ${problem}`);
    this.scope = options.scope;
    this.owner = options.owner;
    this.durationInMs = options.durationInMs ?? DEFAULT_LEASE_DURATION_MS;
    this.margin = options.safetyMarginInMs ?? Math.round(this.durationInMs / 10);
    this.clock = options.clock ?? systemClock;
    this.logger = options.logger ?? silentLogger;
    this.confirm = options.confirm;
    if (this.durationInMs < 1000) throw new RangeError('lease durationInMs must be at least 1000');
  }

  /** True while the lease is ours with margin to spare. No I/O: checked before every send. */
  isHeld(): boolean {
    return this.clock.now().getTime() < this.until - this.margin;
  }

  /** Takes or renews the lease when less than half of it remains. Returns whether it is held. */
  async ensure(options: OperationOptions = {}): Promise<boolean> {
    const now = this.clock.now().getTime();
    if (now < this.until - this.durationInMs / 2) return true;
    const wasHeld = this.isHeld();
    const until = new Date(now + this.durationInMs);
    let ok = false;
    try {
      ok = await this.port.tryAcquire(this.scope, this.owner, until, options);
    } catch (e) {
      this.logger.warn('lease renewal failed', { scope: this.scope, owner: this.owner, error: (e as Error).message });
      return this.isHeld();
    }
    if (ok && !wasHeld && this.confirm && !(await this.confirmed(options))) {
      await this.port.release(this.scope, this.owner, options).catch((e: unknown) =>
        this.logger.warn('could not give back an unconfirmed lease; it expires on its own', { scope: this.scope, error: (e as Error).message }),
      );
      this.until = 0;
      return false;
    }
    if (ok) {
      if (!wasHeld) {
        this.generation++;
        this.logger.info('lease acquired', { scope: this.scope, owner: this.owner, until: until.toISOString() });
      }
      this.until = until.getTime();
    } else {
      if (wasHeld || this.until > 0) this.logger.warn('lease lost to another publisher', { scope: this.scope, owner: this.owner });
      this.until = 0;
    }
    return ok;
  }

  private async confirmed(options: OperationOptions): Promise<boolean> {
    try {
      if (await this.confirm!(options)) return true;
      this.logger.warn('lease taken but not confirmed; given back', { scope: this.scope, owner: this.owner });
    } catch (e) {
      this.logger.warn('lease taken but could not be confirmed; given back', { scope: this.scope, owner: this.owner, error: (e as Error).message });
    }
    return false;
  }

  async release(options: OperationOptions = {}): Promise<void> {
    if (this.until === 0) return;
    this.until = 0;
    await this.port.release(this.scope, this.owner, options);
    this.logger.info('lease released', { scope: this.scope, owner: this.owner });
  }

  /** Forget the lease locally (e.g. after a failure that makes holding it unsafe). */
  drop(): void {
    this.until = 0;
  }
}
