// The publish query's exclusion of blocked keys is bounded (EXCLUSION_LIMITS: 100 keys, 8,000 URL characters), and a key
// is left out only while every waiting row of it is still in its wait: pure checks of KeyBlockers.excludedKeys and of
// the filter text the store builds from it.
import { EXCLUSION_LIMITS, KeyBlockers } from '../../src/core';
import { keyExclusion } from '../../src/dataverse/outboxStore';

const now = new Date('2026-12-07T12:00:00Z');
const later = new Date(now.getTime() + 60_000);
const earlier = new Date(now.getTime() - 1);

function blocked(keys: readonly string[], until = later): KeyBlockers {
  const b = new KeyBlockers();
  keys.forEach((key, i) => b.block(key, { rowId: `row-${i}`, sequence: String(i), until }));
  return b;
}

it('leaves out at most 100 keys, the oldest blocked first; the rest fall back to written holds', () => {
  const keys = Array.from({ length: 150 }, (_, i) => `k${i}`);
  expect(blocked(keys).excludedKeys(now)).toEqual(keys.slice(0, EXCLUSION_LIMITS.maxKeys));
});

it('bounds the URL length the keys add: 128-character keys of percent signs fit far fewer than 100', () => {
  const keys = Array.from({ length: 100 }, (_, i) => `${'%'.repeat(125)}${String(i).padStart(3, '0')}`);
  const excluded = blocked(keys).excludedKeys(now);
  expect(excluded.length).toBeGreaterThan(0);
  expect(excluded.length).toBeLessThan(100);
  expect(encodeURIComponent(keyExclusion(excluded)).length).toBeLessThanOrEqual(EXCLUSION_LIMITS.maxUrlLength + 200);
});

it('reads a key whose waiting row is due (its turn came), and leaves out one whose due row is still being marked', () => {
  const b = blocked(['due-key'], earlier);
  expect(b.excludedKeys(now)).toEqual([]);
  expect(b.excludedKeys(now, new Set(['row-0']))).toEqual(['due-key']);
});

it('never leaves out a key that cannot be percent-encoded (a lone surrogate): it is read and held instead', () => {
  expect(blocked(['ok', 'bad\uD800']).excludedKeys(now)).toEqual(['ok']);
});

it('keeps rows without a key and quotes every key as an OData string literal', () => {
  expect(keyExclusion(["o'brien", 'a#b'])).toBe(" and (obx_sessionkey eq null or (obx_sessionkey ne 'o''brien' and obx_sessionkey ne 'a#b'))");
  expect(keyExclusion([])).toBe('');
});

it('a bound of 0 keys turns the exclusion off (every blocked key falls back to written holds)', () => {
  const b = new KeyBlockers({ maxKeys: 0, maxUrlLength: 0 });
  b.block('k', { rowId: 'r', sequence: '1', until: later });
  expect(b.excludedKeys(now)).toEqual([]);
});
