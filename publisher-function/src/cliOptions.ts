// Parsers for the `outbox` CLI's option values. Each returns the value or throws commander's InvalidArgumentError with
// what was expected, so a typo stops the command before any request (`tail --interval abc` once made 3,672 requests in
// 10 s). Values that may hold a secret (--url, --token) are never repeated in the error.
import { CommanderError, InvalidArgumentError } from 'commander';
import { OutboxStatus, describeValue, type OutboxStatusValue } from '@dataverse-outbox/contract';
import { scopeNameProblem } from './core/lease';
import { httpUrlProblem } from './core/redact';
import { parseStatusName } from '@dataverse-outbox/contract';

/** Bounds of the numeric options (also in docs/publisher.md). */
export const CliBounds = {
  top: { min: 1, max: 100_000 },
  intervalSeconds: { min: 0.5, max: 3600 },
} as const;

const CONTROL = /\p{Cc}/u;

function text(what: string, max: number): (value: string) => string {
  return (value) => {
    const v = value.trim();
    if (v === '') throw new InvalidArgumentError(`${what} must not be empty.`);
    if (v.length > max) throw new InvalidArgumentError(`${what} must be at most ${max} characters, got ${v.length}.`);
    if (CONTROL.test(v)) throw new InvalidArgumentError(`${what} must not contain control characters (line breaks, tabs, NUL), got ${describeValue(v)}.`);
    return v;
  };
}

export const parseTarget = text('a queue or topic name', 260);
export const parseEventType = text('an event type', 200);
export const parseErrorText = text('the text to look for', 4000);
export const parseOwner = text('an owner name', 200);

/** A whole number within bounds, digits only ("1e3", "0x10", "5.0" and "-1" are refused). */
export function parseTop(value: string): number {
  const { min, max } = CliBounds.top;
  const n = /^\d{1,9}$/.test(value.trim()) ? Number(value.trim()) : NaN;
  if (!(n >= min && n <= max)) throw new InvalidArgumentError(`--top must be a whole number from ${min} to ${max.toLocaleString('en-US')}, got ${describeValue(value)}.`);
  return n;
}

/** Seconds, decimals allowed ("0.5"), within bounds. */
export function parseIntervalSeconds(value: string): number {
  const { min, max } = CliBounds.intervalSeconds;
  const n = /^\d{1,6}(\.\d{1,3})?$/.test(value.trim()) ? Number(value.trim()) : NaN;
  if (!(n >= min && n <= max)) throw new InvalidArgumentError(`--interval must be a number of seconds from ${min} to ${max}, got ${describeValue(value)}.`);
  return n;
}

/** `canary --timeout`: whole seconds, 1-3600. */
export function parseCanaryTimeout(value: string): number {
  const n = /^\d{1,4}$/.test(value.trim()) ? Number(value.trim()) : NaN;
  if (!(n >= 1 && n <= 3600)) throw new InvalidArgumentError(`--timeout must be a whole number of seconds from 1 to 3600, got ${describeValue(value)}.`);
  return n;
}

/** An ISO-8601 date or date-time (e.g. 2026-12-01 or 2026-12-01T08:00:00Z), from 2000 to a day from now. */
export function parseSince(value: string, now: Date = new Date()): Date {
  const v = value.trim();
  const d = /^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d{1,3})?)?(Z|[+-]\d{2}:?\d{2})?)?$/.test(v) ? new Date(v) : new Date(NaN);
  if (Number.isNaN(d.getTime())) throw new InvalidArgumentError(`--since must be an ISO-8601 date such as 2026-12-01 or 2026-12-01T08:00:00Z, got ${describeValue(value)}.`);
  if (d.getUTCFullYear() < 2000 || d.getTime() > now.getTime() + 86_400_000) throw new InvalidArgumentError(`--since must be between 2000-01-01 and tomorrow, got ${describeValue(value)}.`);
  return d;
}

/** One status name per value of a variadic --status (accumulates). */
export function parseStatus(value: string, previous: OutboxStatusValue[] | undefined): OutboxStatusValue[] {
  const s = parseStatusName(value.trim());
  if (s === undefined) throw new InvalidArgumentError(`unknown status ${describeValue(value)} (use one of ${Object.keys(OutboxStatus).join(', ')}).`);
  return previous?.includes(s) ? previous : [...(previous ?? []), s];
}

export function parseScope(value: string): string {
  const problem = scopeNameProblem(value);
  if (problem) throw new InvalidArgumentError(`a lease scope ${problem}.`);
  return value;
}

/**
 * For options that may hold a secret: commander quotes the value of an InvalidArgumentError in its message, so these
 * throw their own CommanderError (exit code 1), which commander passes on untouched.
 */
export class InvalidSecretArgumentError extends CommanderError {
  constructor(option: string, why: string) {
    super(1, 'outbox.invalidSecretArgument', `option '${option}' is invalid (the value is not shown): ${why}.`);
  }
}

/** The Dataverse URL; the value is not repeated on error (it may hold a password). */
export function parseUrl(value: string): string {
  const problem = httpUrlProblem(value.trim());
  if (problem) throw new InvalidSecretArgumentError('--url', `the Dataverse URL is not valid: ${problem}`);
  return value.trim();
}

/** A bearer token goes into a header: printable ASCII, no spaces. Not repeated on error. */
export function parseToken(value: string): string {
  if (!/^[\x21-\x7e]{1,16384}$/.test(value)) throw new InvalidSecretArgumentError('--token', 'the token must be printable ASCII without spaces, at most 16,384 characters');
  return value;
}
