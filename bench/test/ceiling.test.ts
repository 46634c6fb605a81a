import { DATAVERSE_LIMITS, REALISTIC_LATENCY, scaledDataverseLimits } from '@dataverse-outbox/emulators/dataverse';
import { ackCost, batchedCost, ceilingOf, naiveCost } from '../src/support/ceiling';

const L = REALISTIC_LATENCY;

it('a per-row design is capped by the request limit near 20 messages/s', () => {
  const c = ceilingOf(DATAVERSE_LIMITS, naiveCost(L, 50));
  expect(c.binding).toBe('requests');
  // 6,000 requests / 300 s = 20 requests/s, 1.02 requests per message.
  expect(c.messagesPerSecond).toBeCloseTo(20 / 1.02, 5);
  // Execution time: 55 ms per PATCH + (50 + 10) / 50 ms of polling.
  expect(c.byExecutionTime).toBeCloseTo(4000 / (55 + 60 / 50), 5);
});

it('the publisher at batch 100 is capped by execution time: 4 s per s / 6.2 ms', () => {
  const cost = batchedCost(L, { batchSize: 100, acksOnSameUser: false });
  expect(cost.requestsPerMessage).toBeCloseTo(0.02, 10);
  expect(cost.executionMsPerMessage).toBeCloseTo((50 + 20 + 50 + 500) / 100, 10);
  const c = ceilingOf(DATAVERSE_LIMITS, cost);
  expect(c.binding).toBe('execution time');
  expect(c.messagesPerSecond).toBeCloseTo(4000 / 6.2, 5);
  expect(c.byRequests).toBeCloseTo(1000, 5);
});

it('acks on the same user add reads by id and a second write per message', () => {
  const a = ackCost(L, 100, 50);
  expect(a.requestsPerMessage).toBeCloseTo(3 / 100, 10);
  expect(a.executionMsPerMessage).toBeCloseTo((2 * 50 + 100 * 0.2 + 50 + 100 * 5) / 100, 10);
  const both = ceilingOf(DATAVERSE_LIMITS, batchedCost(L, { batchSize: 100, acksOnSameUser: true }));
  expect(both.messagesPerSecond).toBeCloseTo(4000 / (6.2 + 6.7), 5);
});

it('bigger batches approach the per-record write cost, never beyond 800 rows/s per user', () => {
  const c1000 = ceilingOf(DATAVERSE_LIMITS, batchedCost(L, { batchSize: 1000, acksOnSameUser: false }));
  expect(c1000.messagesPerSecond).toBeGreaterThan(ceilingOf(DATAVERSE_LIMITS, batchedCost(L, { batchSize: 100, acksOnSameUser: false })).messagesPerSecond);
  expect(c1000.messagesPerSecond).toBeLessThan(4000 / L.perRecordWrittenMs);
});

it('a scaled window keeps the same per-second ceilings', () => {
  const cost = batchedCost(L, { batchSize: 100, acksOnSameUser: true });
  expect(ceilingOf(scaledDataverseLimits(0.02), cost).messagesPerSecond).toBeCloseTo(ceilingOf(DATAVERSE_LIMITS, cost).messagesPerSecond, 5);
});

it('concurrency is the binding limit only for slow requests carrying few messages', () => {
  const c = ceilingOf(DATAVERSE_LIMITS, { requestsPerMessage: 0.0001, executionMsPerMessage: 0.001, messagesPerRequest: 1, requestDurationMs: 1000 });
  expect(c.binding).toBe('concurrency');
  expect(c.messagesPerSecond).toBe(52);
});
