// Settings read from Dataverse, re-read at most every `refreshIntervalInMs`. The first read must succeed (a clear
// InvalidSettings error at start); a later failed read keeps the last good settings, so an admin's typo or a Dataverse
// hiccup never stops a running publisher.
import { describeError } from './errors';
import { redactSecrets } from './redact';
import type { Logger, OperationOptions } from './ports';

export interface RefreshingSettingsOptions<T> {
  read: (options: OperationOptions) => Promise<T>;
  refreshIntervalInMs: number;
  logger: Logger;
  /** What the settings are, in log lines (e.g. "settings", "change tracking settings"). */
  what: string;
  /** Called when a refresh returns different settings than before. */
  onChange?: (next: T) => void;
  /** Milliseconds now (tests). Default Date.now. */
  now?: () => number;
}

export class RefreshingSettings<T> {
  private value?: T;
  private readAt = 0;

  constructor(private readonly options: RefreshingSettingsOptions<T>) {}

  private now(): number {
    return this.options.now?.() ?? Date.now();
  }

  /** The settings after the first successful read. */
  get current(): T | undefined {
    return this.value;
  }

  /** The next get() reads again, whatever the interval (e.g. another instance acts on settings this one has not seen). */
  expire(): void {
    this.readAt = 0;
  }

  async get(options: OperationOptions = {}): Promise<T> {
    if (this.value !== undefined && this.now() - this.readAt < this.options.refreshIntervalInMs) return this.value;
    try {
      const next = await this.options.read(options);
      if (this.value !== undefined && JSON.stringify(next) !== JSON.stringify(this.value)) this.options.onChange?.(next);
      this.value = next;
    } catch (e) {
      if (this.value === undefined) throw e;
      this.options.logger.error(`${this.options.what} refresh failed; keeping the last good ${this.options.what}`, { error: redactSecrets(describeError(e)) });
    }
    this.readAt = this.now();
    return this.value;
  }
}
