// The one health rule set (spec invariant 7), as the publisher's endpoint, the CLI and the monitor all use it.
import {
  Settings,
  defaultHealthThresholds,
  evaluateHealth,
  formatCount,
  healthCountCeiling,
  healthCountedStatuses,
  healthCountFloor,
  healthCountLimits,
  healthLimits,
  healthThresholdsFrom,
  parseHealthThresholds,
  worstLevel,
  type HealthFigures,
  type HealthThresholds,
} from '../src';

const now = new Date('2025-01-01T01:00:00Z');
const ago = (seconds: number): Date => new Date(now.getTime() - seconds * 1000);
const t: HealthThresholds = { maxPendingAgeSeconds: 300, maxFailed: 2, maxDeadLettered: 1 };
const quiet: HealthFigures = { now, counts: {}, oldestPendingCreatedOn: null, lastPublishedOn: ago(60), publisherEnabled: true, leaseActive: true };

describe('thresholds: defaults and parsing', () => {
  it('defaults to the generated setting default, and missing or blank means the default', () => {
    expect(defaultHealthThresholds).toEqual(JSON.parse(Settings.HealthThresholds.defaultValue));
    expect(defaultHealthThresholds).toEqual({ maxPendingAgeSeconds: 300, maxFailed: 0, maxDeadLettered: 0 });
    expect(Object.isFrozen(defaultHealthThresholds)).toBe(true);
    for (const text of [undefined, null, '', '  ']) expect(parseHealthThresholds(text)).toEqual({ thresholds: defaultHealthThresholds, problems: [] });
  });

  it('takes each known field, keeping the default for the others', () => {
    expect(parseHealthThresholds('{"maxPendingAgeSeconds":60}')).toEqual({ thresholds: { ...defaultHealthThresholds, maxPendingAgeSeconds: 60 }, problems: [] });
    expect(parseHealthThresholds('{"maxFailed":5}').thresholds).toEqual({ ...defaultHealthThresholds, maxFailed: 5 });
    expect(parseHealthThresholds('{"maxDeadLettered":0.5}').thresholds).toEqual({ ...defaultHealthThresholds, maxDeadLettered: 0.5 });
    expect(parseHealthThresholds('{"maxPendingAgeSeconds":1,"maxFailed":2,"maxDeadLettered":3}').thresholds).toEqual({ maxPendingAgeSeconds: 1, maxFailed: 2, maxDeadLettered: 3 });
  });

  it('bad: not JSON, not an object', () => {
    const notJson = parseHealthThresholds('{not json');
    expect(notJson.thresholds).toEqual(defaultHealthThresholds);
    expect(notJson.problems).toHaveLength(1);
    expect(notJson.problems[0]).toMatch(/^obx_HealthThresholds is not valid JSON \(.+\): "\{not json"$/);
    for (const text of ['[1]', '5', '"x"', 'null', 'true']) {
      expect(parseHealthThresholds(text, 'app setting OUTBOX_HEALTH_THRESHOLDS')).toEqual({
        thresholds: defaultHealthThresholds,
        problems: [`app setting OUTBOX_HEALTH_THRESHOLDS must be a JSON object like ${Settings.HealthThresholds.defaultValue}`],
      });
    }
    expect(parseHealthThresholds(`"${'x'.repeat(500)}`).problems[0]!.length).toBeLessThan(300);
  });

  it('bad values: every one named, the good ones still taken', () => {
    const r = parseHealthThresholds('{"maxFailed":"many","maxDeadLettered":-1,"maxPendingAgeSeconds":60}');
    expect(r.thresholds).toEqual({ ...defaultHealthThresholds, maxPendingAgeSeconds: 60 });
    expect(r.problems).toEqual([
      'obx_HealthThresholds.maxFailed must be a number >= 0, got "many"',
      'obx_HealthThresholds.maxDeadLettered must be a number >= 0, got -1',
    ]);
    expect(healthThresholdsFrom({ maxFailed: Infinity }).problems).toEqual(['obx_HealthThresholds.maxFailed must be a number >= 0, got null']);
    expect(healthThresholdsFrom({ maxFailed: NaN }).problems).toHaveLength(1);
    expect(healthThresholdsFrom({ maxFailed: null }).problems).toEqual(['obx_HealthThresholds.maxFailed must be a number >= 0, got null']);
  });

  it.each(['constructor', '__proto__', 'toString', 'hasOwnProperty', 'maxfailed'])('an unknown field is refused by its name: %s', (field) => {
    const r = parseHealthThresholds(`{"maxFailed":1,"${field}":5}`, 'X');
    expect(r.problems).toEqual([`X has an unknown field "${field}" (known: maxPendingAgeSeconds, maxFailed, maxDeadLettered)`]);
    expect(r.thresholds).toEqual({ ...defaultHealthThresholds, maxFailed: 1 });
    expect(Object.keys(r.thresholds).sort()).toEqual(['maxDeadLettered', 'maxFailed', 'maxPendingAgeSeconds']);
  });

  it('never hands out the shared default object', () => {
    const r = parseHealthThresholds(undefined);
    r.thresholds.maxFailed = 99;
    expect(defaultHealthThresholds.maxFailed).toBe(0);
  });
});

describe('levels', () => {
  it('the worst known level wins; none known is undefined', () => {
    expect(worstLevel(['green', 'amber', undefined])).toBe('amber');
    expect(worstLevel(['amber', 'red', 'green'])).toBe('red');
    expect(worstLevel(['green'])).toBe('green');
    expect(worstLevel([undefined, undefined])).toBeUndefined();
    expect(worstLevel([])).toBeUndefined();
  });

  it('limits for people: amber and red for waiting, red only for counts', () => {
    expect(healthLimits(t)).toEqual({ pendingAgeSeconds: { amberAbove: 300, redAbove: 600 }, failed: { redAbove: 2 }, deadLettered: { redAbove: 1 } });
  });

  it('counts read for people, a lower bound with a "+"', () => {
    expect([formatCount(3), formatCount(1234), formatCount(50000, true)]).toEqual(['3', '1,234', '50,000+']);
  });
});

describe('evaluation', () => {
  it('green when nothing waits, and says nothing', () => {
    const e = evaluateHealth(quiet, t);
    expect(e).toEqual({
      level: 'green',
      reasons: [],
      oldestPendingAge: { value: 0, atLeast: false, level: 'green' },
      sinceLastPublish: { value: 60, atLeast: false, level: 'green' },
      failed: { value: 0, atLeast: false, level: 'green' },
      deadLettered: { value: 0, atLeast: false, level: 'green' },
    });
    // A publisher idle for days with nothing to send is healthy.
    expect(evaluateHealth({ ...quiet, lastPublishedOn: ago(5 * 86400) }, t).level).toBe('green');
  });

  it('oldest pending row: green up to maxPendingAgeSeconds, amber up to twice, red beyond', () => {
    const at = (age: number) => evaluateHealth({ ...quiet, counts: { Pending: 1 }, oldestPendingCreatedOn: ago(age), lastPublishedOn: ago(age + 10) }, t);
    expect([0, 300, 301, 600, 601].map((age) => at(age).oldestPendingAge.level)).toEqual(['green', 'green', 'amber', 'amber', 'red']);
    expect([300, 301, 601].map((age) => at(age).level)).toEqual(['green', 'amber', 'red']);
    expect(at(660).reasons).toEqual(['oldest pending row is 660s old (threshold 300s)']);
    expect(at(660).oldestPendingAge.value).toBe(660);
    // A clock behind the row's creation reads as 0 s, not a negative age.
    expect(evaluateHealth({ ...quiet, counts: { Pending: 1 }, oldestPendingCreatedOn: ago(-30) }, t).oldestPendingAge).toEqual({ value: 0, atLeast: false, level: 'green' });
  });

  it('a threshold of 0 goes straight from green to red', () => {
    const zero = { ...t, maxPendingAgeSeconds: 0 };
    expect(evaluateHealth({ ...quiet, counts: { Pending: 1 }, oldestPendingCreatedOn: now, lastPublishedOn: now }, zero).level).toBe('green');
    expect(evaluateHealth({ ...quiet, counts: { Pending: 1 }, oldestPendingCreatedOn: ago(1), lastPublishedOn: ago(1) }, zero).level).toBe('red');
  });

  it('since the last publish: judged only while rows are pending, from when they started waiting', () => {
    // Pending rows waiting 400 s with no publish, the last publish 1 h ago: amber (and the row's age says so).
    const stalled = evaluateHealth({ ...quiet, counts: { Pending: 2 }, oldestPendingCreatedOn: ago(400), lastPublishedOn: ago(3600) }, t);
    expect(stalled.sinceLastPublish).toEqual({ value: 3600, atLeast: false, level: 'amber' });
    expect(stalled.reasons).toEqual(['oldest pending row is 400s old (threshold 300s)']);
    // The publisher is working through an old backlog (last publish 10 s ago): green, the old row's age is amber.
    const busy = evaluateHealth({ ...quiet, counts: { Pending: 2 }, oldestPendingCreatedOn: ago(400), lastPublishedOn: ago(10) }, t);
    expect([busy.sinceLastPublish.level, busy.oldestPendingAge.level, busy.level]).toEqual(['green', 'amber', 'amber']);
    // A first row after a quiet night is not a stall, nor is the very first row ever committed.
    expect(evaluateHealth({ ...quiet, counts: { Pending: 1 }, oldestPendingCreatedOn: ago(2), lastPublishedOn: ago(8 * 3600) }, t).level).toBe('green');
    const first = evaluateHealth({ ...quiet, counts: { Pending: 1 }, oldestPendingCreatedOn: ago(2), lastPublishedOn: null }, t);
    expect(first.sinceLastPublish).toEqual({ value: undefined, atLeast: false, level: 'green' });
    // Never published while rows have waited 11 min: red.
    expect(evaluateHealth({ ...quiet, counts: { Pending: 1 }, oldestPendingCreatedOn: ago(660), lastPublishedOn: null }, t).sinceLastPublish.level).toBe('red');
  });

  it('since the last publish without the oldest row (its query failed): it alone tells the stall, with its reason', () => {
    const e = evaluateHealth({ now, counts: { Pending: 1 }, lastPublishedOn: ago(700) }, t);
    expect(e.oldestPendingAge).toEqual({ value: undefined, atLeast: false, level: undefined });
    expect(e.sinceLastPublish).toEqual({ value: 700, atLeast: false, level: 'red' });
    expect(e.level).toBe('red');
    expect(e.reasons).toEqual(['rows are pending and nothing was published for 700s (threshold 300s)']);
    // Never published and no age: nothing says since when rows wait.
    expect(evaluateHealth({ now, counts: { Pending: 1 }, lastPublishedOn: null }, t).sinceLastPublish.level).toBeUndefined();
    // Pending count unknown: not judged.
    expect(evaluateHealth({ now, lastPublishedOn: ago(700) }, t).sinceLastPublish).toEqual({ value: 700, atLeast: false, level: undefined });
  });

  it('Failed and DeadLettered: green up to the threshold, red above it', () => {
    const withCounts = (Failed: number, DeadLettered: number) => evaluateHealth({ ...quiet, counts: { Failed, DeadLettered } }, t);
    expect([2, 3].map((n) => withCounts(n, 0).failed.level)).toEqual(['green', 'red']);
    expect([1, 2].map((n) => withCounts(0, n).deadLettered.level)).toEqual(['green', 'red']);
    expect(withCounts(2, 1).level).toBe('green');
    expect(withCounts(1234, 2).reasons).toEqual(['1,234 Failed row(s) (threshold 2)', '2 DeadLettered row(s) (threshold 1)']);
    expect(withCounts(3, 0).level).toBe('red');
    // The defaults: any Failed or DeadLettered row is red.
    expect(evaluateHealth({ ...quiet, counts: { DeadLettered: 1 } }, defaultHealthThresholds).level).toBe('red');
  });

  it('a count that is a lower bound: red when the bound is over the threshold, not judged when it is not', () => {
    const over = evaluateHealth({ ...quiet, counts: { Failed: 50000, Acked: 50000 }, countsCapped: ['Failed', 'Acked'] }, t);
    expect(over.failed).toEqual({ value: 50000, atLeast: true, level: 'red' });
    expect(over.reasons).toEqual(['50,000+ Failed row(s) (threshold 2)']);
    const huge = { ...t, maxDeadLettered: 100000 };
    const under = evaluateHealth({ ...quiet, counts: { DeadLettered: 50000 }, countsCapped: ['DeadLettered'] }, huge);
    expect(under.deadLettered).toEqual({ value: 50000, atLeast: true, level: undefined });
    expect(under.level).toBe('green'); // the other figures are known and green
    // The pending count as a lower bound shows in the reasons too.
    const off = evaluateHealth({ ...quiet, counts: { Pending: 50000 }, countsCapped: ['Pending'], oldestPendingCreatedOn: now, publisherEnabled: false }, t);
    expect(off.reasons).toEqual(['publisher is disabled (obx_PublisherEnabled) with 50,000+ pending row(s)']);
  });

  it('publisher switched off with work waiting: amber; switched off and idle: green', () => {
    const off = { ...quiet, publisherEnabled: false };
    expect(evaluateHealth(off, t).level).toBe('green');
    const e = evaluateHealth({ ...off, counts: { Pending: 3 }, oldestPendingCreatedOn: ago(5) }, t);
    expect(e.level).toBe('amber');
    expect(e.reasons).toEqual(['publisher is disabled (obx_PublisherEnabled) with 3 pending row(s)']);
  });

  it('rows pending and no lease holder: amber; nobody holding the lease while idle: green', () => {
    const noLease = { ...quiet, leaseActive: false };
    expect(evaluateHealth(noLease, t).level).toBe('green');
    const e = evaluateHealth({ ...noLease, counts: { Pending: 3 }, oldestPendingCreatedOn: now }, t);
    expect(e.level).toBe('amber');
    expect(e.reasons).toEqual(['rows are pending but no publisher holds the lease']);
  });

  it('every rule at once: the worst level, the reasons in rule order', () => {
    const e = evaluateHealth(
      { now, counts: { Pending: 1, Failed: 3, DeadLettered: 2 }, oldestPendingCreatedOn: ago(700), lastPublishedOn: ago(700), publisherEnabled: false, leaseActive: false },
      t,
    );
    expect(e.level).toBe('red');
    expect(e.reasons).toEqual([
      'oldest pending row is 700s old (threshold 300s)',
      '3 Failed row(s) (threshold 2)',
      '2 DeadLettered row(s) (threshold 1)',
      'publisher is disabled (obx_PublisherEnabled) with 1 pending row(s)',
      'rows are pending but no publisher holds the lease',
    ]);
  });

  it('judges only what was read: the monitor knows neither the setting nor the lease; nothing read is no level', () => {
    const monitor = evaluateHealth({ now, counts: { Pending: 3 }, oldestPendingCreatedOn: now, lastPublishedOn: ago(5) }, t);
    expect(monitor.level).toBe('green');
    const nothing = evaluateHealth({ now }, t);
    expect(nothing.level).toBeUndefined();
    expect(nothing.reasons).toEqual([]);
    for (const i of [nothing.oldestPendingAge, nothing.sinceLastPublish, nothing.failed, nothing.deadLettered]) expect(i.level).toBeUndefined();
  });
});

describe('bounded health counts', () => {
  it('count only the statuses the rules judge, never the finished ones', () => {
    expect([...healthCountedStatuses]).toEqual(['Pending', 'Failed', 'DeadLettered']);
  });

  it('read one row past each threshold, at least the floor, at most one Dataverse page', () => {
    expect(healthCountLimits(defaultHealthThresholds)).toEqual({ Pending: healthCountFloor, Failed: healthCountFloor, DeadLettered: healthCountFloor });
    expect(healthCountLimits({ maxPendingAgeSeconds: 1e9, maxFailed: 250, maxDeadLettered: 99.5 })).toEqual({ Pending: 100, Failed: 251, DeadLettered: 100 });
    expect(healthCountLimits({ maxPendingAgeSeconds: 300, maxFailed: 1e9, maxDeadLettered: healthCountCeiling - 1 })).toEqual({
      Pending: 100,
      Failed: healthCountCeiling,
      DeadLettered: healthCountCeiling,
    });
  });

  it('a count that reaches its limit is judged: over the threshold, red', () => {
    for (const maxFailed of [0, 5, 250, healthCountCeiling - 1]) {
      const thresholds = { ...defaultHealthThresholds, maxFailed };
      const limit = healthCountLimits(thresholds).Failed;
      const e = evaluateHealth({ ...quiet, counts: { Failed: limit }, countsCapped: ['Failed'] }, thresholds);
      expect(e.failed).toEqual({ value: limit, atLeast: true, level: 'red' });
    }
    // Past the ceiling the threshold cannot be reached by a bounded count: not judged, shown as a lower bound.
    const beyond = { ...defaultHealthThresholds, maxFailed: healthCountCeiling };
    const e = evaluateHealth({ ...quiet, counts: { Failed: healthCountLimits(beyond).Failed }, countsCapped: ['Failed'] }, beyond);
    expect(e.failed).toEqual({ value: healthCountCeiling, atLeast: true, level: undefined });
  });
});
