// Scheduled events in the contract: notBefore as both writers store it (obx_nextattempton, rounded up to the second;
// past means now; hostile values refused with one OutboxRowError), and the one definition of "scheduled" the monitor,
// the command bar and the publisher use.
import { buildOutboxRow, HELD_BEHIND_KEY_REASON, isScheduled, MAX_SCHEDULE_AHEAD_MS, OutboxMessage, OutboxRowError, outboxRowUpsert, OutboxStatus, scheduledUntil, type OutboxRowOptions } from '../src';

const col = OutboxMessage.columns;
const NOW = new Date('2030-01-01T12:00:00.000Z');
const options: OutboxRowOptions = { newId: () => '11111111-1111-4111-8111-111111111111', now: () => NOW };

describe('notBefore', () => {
  it('is stored in obx_nextattempton, rounded up to the whole second, for a Date and for ISO text with a zone', () => {
    expect(buildOutboxRow({ target: 'orders', payload: 1, notBefore: new Date('2030-01-01T12:00:05.200Z') }, options).record[col.nextAttemptOn]).toBe('2030-01-01T12:00:06.000Z');
    expect(buildOutboxRow({ target: 'orders', payload: 1, notBefore: '2030-01-01T13:00:05+01:00' }, options).record[col.nextAttemptOn]).toBe('2030-01-01T12:00:05.000Z');
    // The upsert form (OutboxWriter with a messageId) carries it too.
    expect(outboxRowUpsert(buildOutboxRow({ target: 'orders', payload: 1, messageId: 'm', notBefore: '2030-01-01T12:01:00Z' }, options)).record[col.nextAttemptOn]).toBe('2030-01-01T12:01:00.000Z');
  });

  it('in the past or now means now: no obx_nextattempton', () => {
    expect(buildOutboxRow({ target: 'orders', payload: 1, notBefore: '2029-12-31T00:00:00Z' }, options).record).not.toHaveProperty(col.nextAttemptOn);
    expect(buildOutboxRow({ target: 'orders', payload: 1, notBefore: NOW }, options).record).not.toHaveProperty(col.nextAttemptOn);
    expect(buildOutboxRow({ target: 'orders', payload: 1 }, options).record).not.toHaveProperty(col.nextAttemptOn);
  });

  it('is accepted up to one year ahead', () => {
    const atLimit = new Date(NOW.getTime() + MAX_SCHEDULE_AHEAD_MS);
    expect(buildOutboxRow({ target: 'orders', payload: 1, notBefore: atLimit }, options).record[col.nextAttemptOn]).toBe(atLimit.toISOString());
  });

  it.each([
    ['NaN (an invalid Date)', new Date(Number.NaN), /not a real date/],
    ['"tomorrow"', 'tomorrow', /ISO 8601/],
    ['whitespace', '   ', /ISO 8601/],
    ['an empty string', '', /ISO 8601/],
    ['a local time without a zone', '2030-01-01T12:00:05', /ISO 8601/],
    ['a date without a time', '2030-01-02', /ISO 8601/],
    ['February 30', '2030-02-30T00:00:00Z', /ISO 8601/],
    ['hour 24', '2030-01-01T24:00:00Z', /ISO 8601/],
    ['the year 99999 as text', '+099999-01-01T00:00:00Z', /ISO 8601/],
    ['the year 99999 as a Date', new Date('+099999-01-01T00:00:00Z'), /more than a year ahead/],
    ['a year and a second ahead', new Date(NOW.getTime() + MAX_SCHEDULE_AHEAD_MS + 1000), /more than a year ahead/],
    ['a number (epoch milliseconds)', 1_900_000_000_000, /ISO 8601/],
    ['an object', { at: 'now' }, /ISO 8601/],
  ])('refuses %s with InvalidField on notBefore', (_what, notBefore, message) => {
    let error: unknown;
    try {
      buildOutboxRow({ target: 'orders', payload: 1, notBefore: notBefore as Date }, options, 2);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(OutboxRowError);
    expect(error).toMatchObject({ code: 'InvalidField', field: 'notBefore', position: 2 });
    expect((error as Error).message).toMatch(/^Outbox message 3: notBefore /);
    expect((error as Error).message).toMatch(message);
  });
});

describe('isScheduled', () => {
  const future = '2030-01-01T12:00:10Z';
  it('is a Pending row never attempted, not held, whose obx_nextattempton is after now', () => {
    expect(isScheduled({ status: OutboxStatus.Pending, attempts: 0, nextAttemptOn: future }, NOW)).toBe(true);
    expect(scheduledUntil({ status: OutboxStatus.Pending, attempts: null, nextAttemptOn: new Date(future), lastError: null }, NOW)).toEqual(new Date(future));
  });
  it.each([
    ['due', { status: OutboxStatus.Pending, attempts: 0, nextAttemptOn: NOW.toISOString() }],
    ['without a time', { status: OutboxStatus.Pending, attempts: 0, nextAttemptOn: null }],
    ['backing off after an attempt', { status: OutboxStatus.Pending, attempts: 1, nextAttemptOn: future }],
    ['held behind an earlier row of its key', { status: OutboxStatus.Pending, attempts: 0, nextAttemptOn: future, lastError: HELD_BEHIND_KEY_REASON }],
    ['cancelled', { status: OutboxStatus.Cancelled, attempts: 0, nextAttemptOn: future }],
    ['an unreadable time', { status: OutboxStatus.Pending, attempts: 0, nextAttemptOn: 'soon' }],
  ])('is false for a row %s', (_what, row) => {
    expect(isScheduled(row, NOW)).toBe(false);
  });
});
