import { OutboxMessage, OutboxStatus, Settings } from '@dataverse-outbox/contract';
import { describeError, formatDuration, readDate, truncate } from '../OutboxMonitor/core/format';
import { bucketLast24Hours, combineStatusCounts, evaluateFacts, statusCountQuery, thresholdsFromSetting } from '../OutboxMonitor/core/health';
import { clampPageSize, defaultPageSize } from '../OutboxMonitor/core/pageSize';
import { describeMissingColumns, gridColumns, toOutboxRow } from '../OutboxMonitor/core/rows';
import { formatPayload } from '../OutboxMonitor/core/services';
import { readStatus } from '../OutboxMonitor/core/status';

const c = OutboxMessage.columns;
const S = OutboxStatus;

// The rules themselves are tested once, in contract/test/health.test.ts; here only how the monitor feeds them.
describe('health thresholds and evaluation in the monitor', () => {
  const defaults = JSON.parse(Settings.HealthThresholds.defaultValue) as Record<string, number>;

  it('reads the setting with the contract: defaults when missing, each unusable field named', () => {
    expect(thresholdsFromSetting(undefined)).toEqual({ thresholds: defaults });
    expect(thresholdsFromSetting('{"maxFailed":5}')).toEqual({ thresholds: { ...defaults, maxFailed: 5 } });
    const bad = thresholdsFromSetting('{"maxFailed":"many","maxDeadLettered":-1,"maxPendingAgeSeconds":60}');
    expect(bad.thresholds).toEqual({ ...defaults, maxPendingAgeSeconds: 60 });
    expect(bad.problem).toBe(
      'obx_HealthThresholds.maxFailed must be a number >= 0, got "many"; obx_HealthThresholds.maxDeadLettered must be a number >= 0, got -1; using the defaults for what is unusable',
    );
    expect(thresholdsFromSetting('{not json').problem).toMatch(/^obx_HealthThresholds is not valid JSON/);
    expect(thresholdsFromSetting('[1]').problem).toMatch(/must be a JSON object/);
    expect(thresholdsFromSetting('{"maxFailed":1,"maxFaild":3}').problem).toMatch(/unknown field "maxFaild"/);
  });

  it('evaluates stalls: old pending rows and a quiet publisher while work waits', () => {
    const now = new Date('2024-05-01T12:00:00Z');
    const t = { maxPendingAgeSeconds: 300, maxFailed: 0, maxDeadLettered: 0 };
    const counts = combineStatusCounts([
      { name: 'Pending', count: 4, capped: false },
      { name: 'Failed', count: 1, capped: false },
      { name: 'DeadLettered', count: 0, capped: false },
    ]);
    const e = evaluateFacts({ counts, oldestPendingCreatedOn: new Date('2024-05-01T11:50:00Z'), lastPublishedOn: new Date('2024-05-01T11:59:00Z') }, t, now);
    expect(e.oldestPendingAge).toEqual({ value: 600, atLeast: false, level: 'amber' });
    expect(e.sinceLastPublish).toEqual({ value: 60, atLeast: false, level: 'green' });
    expect(e.failed).toEqual({ value: 1, atLeast: false, level: 'red' });
    expect(e.deadLettered).toEqual({ value: 0, atLeast: false, level: 'green' });
    expect(e.level).toBe('red');
    const idle = evaluateFacts({ counts: combineStatusCounts([]), oldestPendingCreatedOn: null, lastPublishedOn: null }, t, now);
    expect(idle.level).toBe('green');
    // Never published while rows have waited 11 minutes: red. The very first row, committed a moment ago: green.
    const stuck = evaluateFacts({ counts, oldestPendingCreatedOn: new Date('2024-05-01T11:49:00Z'), lastPublishedOn: null }, t, now);
    expect(stuck.sinceLastPublish.level).toBe('red');
    expect(evaluateFacts({ counts, oldestPendingCreatedOn: now, lastPublishedOn: null }, t, now).sinceLastPublish.level).toBe('green');
  });

  it('a capped count reaches the evaluation as a lower bound; unread facts stay unknown', () => {
    const now = new Date('2024-05-01T12:00:00Z');
    const t = { maxPendingAgeSeconds: 300, maxFailed: 10, maxDeadLettered: 0 };
    const counts = combineStatusCounts([{ name: 'Failed', count: 50_000, capped: true }]);
    const e = evaluateFacts({ counts, oldestPendingCreatedOn: undefined, lastPublishedOn: undefined }, t, now);
    expect(e.failed).toEqual({ value: 50_000, atLeast: true, level: 'red' });
    expect(e.oldestPendingAge.level).toBeUndefined();
    expect(e.sinceLastPublish.level).toBeUndefined();
    expect(e.reasons).toEqual(['50,000+ Failed row(s) (threshold 10)']);
    expect(evaluateFacts({ counts: undefined, oldestPendingCreatedOn: undefined, lastPublishedOn: undefined }, t, now).level).toBeUndefined();
  });
});

describe('bounded status counts', () => {
  it('reads one status\'s ids in (obx_status, obx_sequence) order, at most the limit', () => {
    expect(statusCountQuery(S.Failed, 251)).toBe(`?$select=${OutboxMessage.primaryIdAttribute}&$filter=${c.status} eq ${S.Failed}&$orderby=${c.sequence} asc&$top=251`);
  });

  it('keeps only the statuses read; a full page is a lower bound; no total when only some statuses are counted', () => {
    const counts = combineStatusCounts([
      { name: 'Pending', count: 3, capped: false },
      { name: 'Failed', count: 100, capped: true },
    ]);
    expect(counts).toEqual({ byStatus: { Pending: 3, Failed: 100 }, unknown: [], capped: ['Failed'] });
  });

  it('buckets the last 24 hours by hour and ignores older events', () => {
    const now = new Date('2024-05-01T12:00:00Z');
    const buckets = bucketLast24Hours(
      [new Date('2024-05-01T11:30:00Z'), new Date('2024-05-01T11:10:00Z'), new Date('2024-04-29T11:00:00Z')],
      [new Date('2024-04-30T12:30:00Z')],
      now,
    );
    expect(buckets).toHaveLength(24);
    expect(buckets[23]).toMatchObject({ published: 2, failed: 0 });
    expect(buckets[0]).toMatchObject({ published: 0, failed: 1 });
    expect(buckets.reduce((n, b) => n + b.published, 0)).toBe(2);
  });
});

describe('rows and view columns', () => {
  const all = new Set(gridColumns.map((col) => col.name));
  it('reads a row and reports what is wrong with it', () => {
    const values: Record<string, unknown> = { [c.status]: 999, [c.attempts]: 'x', [c.createdOn]: 'yesterday', [c.name]: 'n' };
    const row = toOutboxRow('id1', (col) => ({ value: values[col], formatted: undefined }), all);
    expect(row.status).toEqual({ kind: 'unknown', raw: '999' });
    expect(row.problems).toEqual(['Unknown status value 999', 'Attempts is not a number ("x")', 'Created on is not a date']);
  });

  it('names the missing view columns, with a specific message for Status', () => {
    const messages = describeMissingColumns(new Set([c.name, c.createdOn]));
    expect(messages[0]).toMatch(/no Status \(obx_status\) column/);
    expect(messages[1]).toMatch(/Target \(obx_target\), Event type \(obx_eventtype\)/);
    expect(describeMissingColumns(all)).toEqual([]);
  });

  it('reads status values from numbers and numeric strings only', () => {
    expect(readStatus(S.Failed)).toEqual({ kind: 'known', value: S.Failed, name: 'Failed' });
    expect(readStatus(String(S.Acked))).toEqual({ kind: 'known', value: S.Acked, name: 'Acked' });
    expect(readStatus(undefined)).toEqual({ kind: 'missing' });
    expect(readStatus('Failed')).toEqual({ kind: 'unknown', raw: 'Failed' });
  });
});

describe('formatting', () => {
  it('formats durations, truncates text and describes errors', () => {
    expect([formatDuration(5), formatDuration(300), formatDuration(3900), formatDuration(90_000), formatDuration(-3)]).toEqual(['5 s', '5 min', '1 h 5 min', '1 d 1 h', '0 s']);
    expect(truncate('a\n b   c', 10)).toBe('a b c');
    expect(truncate('abcdefghij', 5)).toBe('abcd…');
    expect(describeError({ message: 'Principal user is missing prvWriteobx_outboxmessage', errorCode: -2147220960 })).toBe(
      'Principal user is missing prvWriteobx_outboxmessage (code -2147220960)',
    );
    expect(describeError(undefined)).toBe('unknown error');
    expect(readDate('2024-01-01T00:00:00Z')?.toISOString()).toBe('2024-01-01T00:00:00.000Z');
    expect(readDate('soon')).toBeNull();
    expect(readDate(null)).toBeUndefined();
  });

  it('pretty-prints JSON payloads and keeps anything else as stored', () => {
    expect(formatPayload('{"a":1}', 'application/json').text).toBe('{\n  "a": 1\n}');
    expect(formatPayload('{"a":', undefined)).toEqual({ text: '{"a":', note: 'The payload is not valid JSON: shown as stored.' });
    expect(formatPayload('<x/>', 'application/xml').text).toBe('<x/>');
    expect(formatPayload(undefined, undefined)).toEqual({
      text: '(no payload: hidden by column security, or none stored)',
      note: 'No payload to show: your column security profile may not read payloads (Outbox Reader does not; Outbox Operator does), or the row has none.',
    });
  });

  it('clamps the page size to what Dataverse allows', () => {
    expect([clampPageSize(null), clampPageSize(0), clampPageSize(100), clampPageSize(10_000)]).toEqual([defaultPageSize, defaultPageSize, 100, 5000]);
  });
});
