// Hostile rows on the publish path (issue 17): payload shapes, sizes, nesting, content types, targets, names, event
// types, message ids, session keys and expiry values, all in one publish run with good rows around them. Each case
// asserts its specific outcome AND that nothing else was lost or delayed: a good row committed right after it on the
// same key is published in the same run, a permanent problem fails the row at first sight (no attempt counted, no
// backoff), and every good row of the run reaches its queue. Also: session keys that must survive the publish query's
// exclusion of blocked keys, and the numeric and allow-list settings.
import { OutboxMessage, OutboxStatus } from '@dataverse-outbox/contract';
import { isOutboxError, type EntityRecord } from '../../src';
import { parseSettings } from '../../src/core';
import { drainQueue, enqueueMany, eventually, SESSION_QUEUE, type Harness, useHarness } from '../support/harness';

const C = OutboxMessage.columns;
const MAX_SIZE = 64 * 1024;
let h: Harness;
// Real Dataverse does not enforce required columns over the Web API (a raw call may omit obx_messageid).
useHarness((started) => (h = started), { maxMessageSizeInBytes: MAX_SIZE, dataverse: { enforceRequiredColumns: false }, appSettings: { OUTBOX_ALLOWED_TARGETS: '["orders","invoices","orders-by-key"]' } });

const nested = (depth: number): string => `${'['.repeat(depth)}${']'.repeat(depth)}`;
type Expected = { published: true; queue?: string } | { published: false; reason: RegExp };
const published = (queue = 'orders'): Expected => ({ published: true, queue });
const failed = (reason: RegExp): Expected => ({ published: false, reason });
const MALFORMED = /^Malformed JSON payload \(.+ (at line \d+, column \d+ \(character \d+ of \d+\)|at the end of the payload \(\d+ characters\))\); obx_contenttype is /;

// [name, columns of the hostile row (over a good default), expected outcome]
const rowCases: [string, EntityRecord, Expected][] = [
  // Payload shapes (JSON content)
  ['payload: truncated object', { [C.payload]: '{"a":' }, failed(/^Malformed JSON payload \(the payload ends before the JSON value is complete at the end of the payload \(5 characters\)\)/)],
  ['payload: trailing comma', { [C.payload]: '{"a":1,}' }, failed(/^Malformed JSON payload \(a property name in double quotes expected at line 1, column 8 /)],
  ['payload: single-quoted names', { [C.payload]: "{'a':1}" }, failed(MALFORMED)],
  ['payload: NaN literal', { [C.payload]: '{"a":NaN}' }, failed(/a JSON value expected at line 1, column 6/)],
  ['payload: raw control character in a string', { [C.payload]: '{"a":"x\u0001y"}' }, failed(/a control character inside a string \(it must be escaped\)/)],
  ['payload: invalid escape', { [C.payload]: '{"a":"\\x41"}' }, failed(/an invalid escape sequence/)],
  ['payload: invalid \\u escape', { [C.payload]: '{"a":"\\u12G4"}' }, failed(/an invalid \\u escape/)],
  ['payload: two JSON values', { [C.payload]: '{} {}' }, failed(/more text after the JSON value at line 1, column 4/)],
  ['payload: byte order mark before JSON', { [C.payload]: '\uFEFF{}' }, failed(/a JSON value expected at line 1, column 1 /)],
  ['payload: number with a leading zero', { [C.payload]: '{"n":01}' }, failed(MALFORMED)],
  ['payload: only white space', { [C.payload]: ' \n\t ' }, failed(/the payload ends before the JSON value is complete/)],
  ['payload: unclosed string on line 3', { [C.payload]: '{\n "a": 1,\n "b": "open\n}' }, failed(/a control character inside a string .+ at line 3, column 12/)],
  ['payload: escaped lone surrogate (valid JSON)', { [C.payload]: '{"s":"\\ud800"}' }, published()],
  ['payload: nested 10,000 deep (20 KB)', { [C.payload]: nested(10_000) }, failed(/^JSON payload nested deeper than 64 levels \(level 65 opens at line 1, column 65\)/)],
  ['payload: nested 65 deep', { [C.payload]: nested(65) }, failed(/^JSON payload nested deeper than 64 levels/)],
  ['payload: nested exactly 64 deep', { [C.payload]: nested(64) }, published()],
  ['payload: a bare JSON string', { [C.payload]: '"just text"' }, published()],
  ['payload: JSON null', { [C.payload]: 'null' }, published()],
  ['payload: empty', { [C.payload]: '' }, published()],
  ['payload: number beyond double range', { [C.payload]: '{"n":1e400}' }, published()],
  // Sizes (the entity accepts 64 KB here)
  ['size: 100 KB of JSON', { [C.payload]: JSON.stringify({ blob: 'x'.repeat(100 * 1024) }) }, failed(/^Payload too large: 1024\d\d bytes, but target "orders" accepts messages up to 65536 bytes/)],
  ['size: under the limit in characters, over it in UTF-8 bytes', { [C.payload]: JSON.stringify({ s: 'é'.repeat(33_000) }) }, failed(/^Payload too large: 660\d\d bytes/)],
  ['size: just under the limit in UTF-8 bytes', { [C.payload]: JSON.stringify({ s: 'é'.repeat(30_000) }) }, published()],
  // Content types
  ['content type: XML that is not JSON', { [C.contentType]: 'application/xml', [C.payload]: '<a>{"not json"</a>' }, published()],
  ['content type: text with parameters', { [C.contentType]: 'text/plain; charset=utf-8', [C.payload]: 'plain {text' }, published()],
  ['content type: +json suffix with malformed JSON', { [C.contentType]: 'application/vnd.contoso.order+json', [C.payload]: '{"a"' }, failed(/^Malformed JSON payload .+ obx_contenttype is "application\/vnd.contoso.order\+json"/)],
  ['content type: upper case JSON', { [C.contentType]: 'APPLICATION/JSON', [C.payload]: '{"ok":1}' }, published()],
  ['content type: header injection (CR LF)', { [C.contentType]: 'application/json\r\nX-Evil: 1' }, failed(/^obx_contenttype is not a MIME type such as application\/json \(27 characters, a control character at position 17;/)],
  ['content type: non-ASCII', { [C.contentType]: 'application/jsön' }, failed(/^obx_contenttype is not a MIME type/)],
  ['content type: no subtype', { [C.contentType]: 'json' }, failed(/^obx_contenttype is not a MIME type/)],
  // Targets
  ['target: leading white space', { [C.target]: '  orders' }, published()],
  ['target: trailing newline', { [C.target]: 'orders\n' }, published()],
  ['target: other case', { [C.target]: 'Orders' }, published()],
  ['target: inner space', { [C.target]: 'ord ers' }, failed(/^obx_target is unusable: "ord ers" is not a valid queue or topic name/)],
  ['target: NUL character', { [C.target]: 'orders\u0000x' }, failed(/^obx_target is unusable: .+ is not a valid queue or topic name/)],
  ['target: zero-width space', { [C.target]: 'orders\u200b' }, failed(/^obx_target is unusable/)],
  ['target: non-ASCII letters', { [C.target]: 'ördërs' }, failed(/^obx_target is unusable: "ördërs" is not a valid queue or topic name/)],
  ['target: starts with a dash', { [C.target]: '-orders' }, failed(/^obx_target is unusable/)],
  ['target: a path outside the allow-list', { [C.target]: 'orders/../invoices' }, failed(/^Target "orders\/..\/invoices" is not in obx_AllowedTargets/)],
  ['target: not allowed', { [C.target]: 'payments' }, failed(/^Target "payments" is not in obx_AllowedTargets \(allowed: "orders", "invoices", "orders-by-key"\)/)],
  ['target: 260 characters, not allowed', { [C.target]: 'q'.repeat(260) }, failed(/^Target "q{260}" is not in obx_AllowedTargets/)],
  // Names, event types, message ids
  ['name: control characters and 200 characters', { [C.name]: `\u0000\u001b[31m${'n'.repeat(190)}` }, published()],
  ['event type: CR LF and emoji', { [C.eventType]: 'Order\r\nWon 🎉' }, published()],
  ['message id: missing (raw Web API write)', { [C.messageId]: null }, published()],
  ['message id: URL and OData characters', { [C.messageId]: "id#1?x=%2F&y='z'" }, published()],
  // Expiry
  ['expiry: in the past', { [C.expiresOn]: new Date(Date.now() - 60_000).toISOString() }, failed(/^Expired: obx_expireson .+ passed before the row could be published\.$/)],
  ['expiry: year 9999', { [C.expiresOn]: '9999-12-31T23:59:59Z' }, published()],
];

const ids = new Map<string, { hostile: string; follower: string }>();
let goodIds: string[] = [];

beforeAll(async () => {
  // Each hostile row leads its own key; a good row follows it on that key (to the session queue).
  for (const [i, [name, fields]] of rowCases.entries()) {
    const key = `hostile-${i}`;
    const hostile = await h.client.create(OutboxMessage.entitySetName, { [C.name]: name.slice(0, 100), [C.messageId]: `hostile-row-${i}`, [C.target]: 'orders', [C.payload]: '{"ok":true}', [C.sessionKey]: key, ...fields });
    const follower = await h.client.create(OutboxMessage.entitySetName, { [C.name]: 'follower', [C.messageId]: `follower-${i}`, [C.target]: SESSION_QUEUE, [C.payload]: '{"ok":true}', [C.sessionKey]: key });
    ids.set(name, { hostile: hostile.id, follower: follower.id });
  }
  goodIds = await enqueueMany(h, 100, (i) => ({ target: 'invoices', payload: { i }, messageId: `hostile-run-good-${i}` }), 50);
  const p = h.newPublisher();
  try {
    await eventually(async () => {
      const r = await p.runOnce();
      return r.read === 0 && (await h.store.query({ statuses: [OutboxStatus.Pending], top: 1 })).length === 0;
    }, 'every row of the run settled', 60_000, 20);
  } finally {
    await p.close();
  }
}, 120_000);

describe('rows: each bad row gets its specific outcome; its key, its batch and the run go on', () => {
  it.each(rowCases)('hostile: row %s', async (name, _fields, expected) => {
    const { hostile, follower } = ids.get(name)!;
    const [row] = await h.store.readByIds([hostile]);
    const [next] = await h.store.readByIds([follower]);
    if (expected.published) {
      expect({ status: row?.status, lastError: row?.lastError }).toEqual({ status: OutboxStatus.Published, lastError: undefined });
    } else {
      // Failed at first sight: no attempt counted, no backoff, so nothing waited on it.
      expect({ status: row?.status, attempts: row?.attempts, nextAttemptOn: row?.nextAttemptOn }).toEqual({ status: OutboxStatus.Failed, attempts: 0, nextAttemptOn: undefined });
      expect(row?.lastError).toMatch(expected.reason);
      expect(row?.lastError?.length).toBeLessThanOrEqual(4000);
    }
    expect({ follower: next?.status, attempts: next?.attempts }).toEqual({ follower: OutboxStatus.Published, attempts: 1 });
  });

  it('every good row of the run reached its queue, and every published hostile row reached orders', async () => {
    expect((await drainQueue(h, 'invoices', goodIds.length)).map((m) => m.messageId).sort()).toEqual([...goodIds].sort());
    const publishedCount = rowCases.filter(([, , e]) => e.published).length;
    const got = await drainQueue(h, 'orders', publishedCount);
    expect(got).toHaveLength(publishedCount);
    // A row without obx_messageid goes out under its row id.
    const missing = ids.get('message id: missing (raw Web API write)')!.hostile;
    expect(got.map((m) => m.messageId)).toContain(missing);
  });
});

describe('session keys the publish query leaves out while they are blocked', () => {
  const keys: [string, string][] = [
    ['a single quote', "o'brien"],
    ['two quotes and an OData clause', "x'' or obx_status eq 612000000 or ''y"],
    ['percent signs', '100%25%'],
    ['a hash and a question mark', 'key#1?$top=1'],
    ['an ampersand and a plus', 'a&b+c=d'],
    ['a slash and a backslash', 'a/b\\c'],
    ['emoji and right-to-left text', '🔑 مفتاح'],
    ['128 characters of quotes', "'".repeat(128)],
  ];
  it.each(keys)('hostile: session key with %s is excluded exactly, rows of other keys still read', async (_name, key) => {
    const tag = `excl-${Math.random().toString(36).slice(2, 8)}`;
    await h.writer.transaction((tx) => {
      tx.enqueue({ target: SESSION_QUEUE, sessionKey: key, payload: { n: 1 }, messageId: `${tag}-blocked` });
      tx.enqueue({ target: SESSION_QUEUE, sessionKey: `${tag}-other`, payload: { n: 2 }, messageId: `${tag}-other` });
      tx.enqueue({ target: SESSION_QUEUE, payload: { n: 3 }, messageId: `${tag}-unkeyed` });
    });
    const excluded = await h.store.readDue({ now: new Date(), top: 5000, excludeKeys: [key, 'another-blocked-key'] });
    const mine = excluded.filter((r) => r.messageId.startsWith(tag)).map((r) => r.messageId);
    expect(mine).toEqual([`${tag}-other`, `${tag}-unkeyed`]);
    const all = await h.store.readDue({ now: new Date(), top: 5000 });
    expect(all.filter((r) => r.messageId.startsWith(tag)).map((r) => r.messageId)).toEqual([`${tag}-blocked`, `${tag}-other`, `${tag}-unkeyed`]);
    const ops = await h.store.query({ statuses: [OutboxStatus.Pending] });
    // Leave nothing Pending for the other cases.
    await h.store.applyUpdates(ops.filter((r) => r.messageId.startsWith(tag)).map((r) => ({ id: r.id, etag: r.etag, changes: { status: OutboxStatus.Cancelled } })));
  });
});

describe('settings: batch size, max attempts and allow-list entries', () => {
  const numberCases: [string, Record<string, string>, string][] = [
    ['OUTBOX_BATCH_SIZE 0', { OUTBOX_BATCH_SIZE: '0' }, 'app setting OUTBOX_BATCH_SIZE must be a whole number from 1 to 1000, got "0"'],
    ['OUTBOX_BATCH_SIZE 1001 (over the $batch limit)', { OUTBOX_BATCH_SIZE: '1001' }, 'got "1001"'],
    ['OUTBOX_BATCH_SIZE hexadecimal', { OUTBOX_BATCH_SIZE: '0x10' }, 'got "0x10"'],
    ['OUTBOX_BATCH_SIZE exponent', { OUTBOX_BATCH_SIZE: '1e2' }, 'got "1e2"'],
    ['OUTBOX_BATCH_SIZE fraction', { OUTBOX_BATCH_SIZE: '10.5' }, 'got "10.5"'],
    ['OUTBOX_MAX_ATTEMPTS Infinity', { OUTBOX_MAX_ATTEMPTS: 'Infinity' }, 'app setting OUTBOX_MAX_ATTEMPTS must be a whole number from 1 to 1000, got "Infinity"'],
    ['OUTBOX_MAX_ATTEMPTS negative', { OUTBOX_MAX_ATTEMPTS: '-1' }, 'got "-1"'],
    ['OUTBOX_MAX_ATTEMPTS white space', { OUTBOX_MAX_ATTEMPTS: ' \t' }, 'got " \\t"'],
  ];
  it.each(numberCases)('hostile: %s', (_name, env, expected) => {
    let caught: unknown;
    try {
      parseSettings({}, { ...env, OUTBOX_RETENTION_DAYS: '0' });
    } catch (e) {
      caught = e;
    }
    const details = isOutboxError(caught) ? caught.details : [];
    expect(details.some((d) => d.includes(expected))).toBe(true);
    // The other bad setting is still reported alongside.
    expect(details.some((d) => d.includes('OUTBOX_RETENTION_DAYS must be a whole number from 1 to 3650, got "0"'))).toBe(true);
  });

  it('a Dataverse Number value written as "100.0" is still 100 (not hostile: a form the platform writes)', () => {
    expect(parseSettings({ BatchSize: '100.0' }, {}).batchSize).toBe(100);
  });

  const targetCases: [string, string, string[] | RegExp][] = [
    ['white space and case variants collapse to one name', '[" Orders\\n", "orders", "ORDERS\\t"]', ['orders']],
    ['an inner space', '["orders", "ord ers"]', /^app setting OUTBOX_ALLOWED_TARGETS entry 2: "ord ers" is not a valid queue or topic name/],
    ['a control character', '["orders\\u0007"]', /^app setting OUTBOX_ALLOWED_TARGETS entry 1: "orders\\u0007" is not a valid queue or topic name/],
    ['non-ASCII letters', '["bestellungen-ü"]', /entry 1: "bestellungen-ü" is not a valid queue or topic name/],
    ['seven bad entries (five named, the rest counted)', JSON.stringify(['a b', 'c d', 'e f', 'g h', 'i j', 'k l', 'm n']), /^app setting OUTBOX_ALLOWED_TARGETS: 2 more unusable entries$/],
  ];
  it.each(targetCases)('hostile: OUTBOX_ALLOWED_TARGETS %s', (_name, value, expected) => {
    if (Array.isArray(expected)) {
      expect(parseSettings({}, { OUTBOX_ALLOWED_TARGETS: value }).allowedTargets).toEqual(expected);
      return;
    }
    let caught: unknown;
    try {
      parseSettings({}, { OUTBOX_ALLOWED_TARGETS: value, OUTBOX_MAX_ATTEMPTS: '0' });
    } catch (e) {
      caught = e;
    }
    const details = isOutboxError(caught) ? caught.details : [];
    expect(details.some((d) => expected.test(d))).toBe(true);
    expect(details.some((d) => d.includes('OUTBOX_MAX_ATTEMPTS must be a whole number from 1 to 1000, got "0"'))).toBe(true);
  });
});
