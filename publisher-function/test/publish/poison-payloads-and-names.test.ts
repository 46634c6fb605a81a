// Items 5 and 6 of issue 17 and the spec's obx_messageid default: a payload the SDK cannot encode fails its own row,
// permanently and with a specific reason, while the rest of its send batch goes out; JSON nesting is bounded before
// sending; a malformed-JSON reason says where, not what; one normalised target name is checked and sent to; a row
// without obx_messageid is published under its row id.
import { MessageProperties, OutboxMessage, OutboxStatus } from '@dataverse-outbox/contract';
import { MAX_JSON_DEPTH } from '@dataverse-outbox/contract';
import type { EntityRecord } from '../../src';
import { parseSettings } from '../../src/core';
import { ServiceBusMessageSender } from '../../src/servicebus/sender';
import { drainQueue, eventually, rowByMessageId, type Harness, useHarness } from '../support/harness';

const C = OutboxMessage.columns;
let h: Harness;
// Real Dataverse does not enforce required columns over the Web API: neither does this emulator here.
useHarness((started) => (h = started), { dataverse: { enforceRequiredColumns: false }, appSettings: { OUTBOX_ALLOWED_TARGETS: JSON.stringify([' Orders\n', 'invoices', 'orders-by-key']) } });

/** `{"a":{"a":...}}` nested `depth` deep (about 20 KB at 10,000). */
const nested = (depth: number): string => `${'{"a":'.repeat(depth - 1)}{}${'}'.repeat(depth - 1)}`;

async function createRaw(fields: EntityRecord): Promise<string> {
  const { id } = await h.client.create(OutboxMessage.entitySetName, { [C.name]: 'raw', [C.target]: 'orders', [C.payload]: '{"ok":true}', ...fields });
  return id;
}

async function publishUntilSettled(ids: readonly string[]): Promise<void> {
  const p = h.newPublisher();
  try {
    await eventually(async () => {
      await p.runOnce();
      const rows = await h.store.readByIds(ids);
      return rows.length === ids.length && rows.every((r) => r.status !== OutboxStatus.Pending);
    }, 'every row settled', 30_000, 50);
  } finally {
    await p.close();
  }
}

it('the sender encodes each message alone: a body the AMQP encoder overflows fails that message only, permanently', async () => {
  const sender = new ServiceBusMessageSender(h.serviceBus, { operationTimeoutInMs: 5000 });
  const deep: unknown = JSON.parse(nested(10_000));
  const message = (id: string, body: unknown) => ({ messageId: id, body, contentType: 'application/json', applicationProperties: {} });
  try {
    const outcomes = await sender.send('orders', [message('enc-1', { ok: 1 }), message('enc-deep', deep), message('enc-3', { ok: 3 })]);
    expect(outcomes[0]).toEqual({ ok: true });
    expect(outcomes[1]).toMatchObject({ ok: false, permanent: true, code: 'EncodingFailed', reason: expect.stringContaining('nested too deeply') });
    expect(outcomes[2]).toEqual({ ok: true });
  } finally {
    await sender.close();
  }
  expect((await drainQueue(h, 'orders', 2)).map((m) => m.messageId)).toEqual(['enc-1', 'enc-3']);
});

it('a 20 KB payload nested 10,000 deep fails its row at once with a depth reason; the rows around it are published', async () => {
  const before = await createRaw({ [C.messageId]: 'deep-before', [C.sessionKey]: 'deep-key' });
  const deep = await createRaw({ [C.messageId]: 'deep-bad', [C.sessionKey]: 'deep-key', [C.payload]: nested(10_000) });
  const after = await createRaw({ [C.messageId]: 'deep-after', [C.sessionKey]: 'deep-key' });
  const limit = await createRaw({ [C.messageId]: 'deep-at-limit', [C.payload]: nested(MAX_JSON_DEPTH) });
  await publishUntilSettled([before, deep, after, limit]);
  const bad = await rowByMessageId(h, 'deep-bad');
  expect({ status: bad.status, attempts: bad.attempts }).toEqual({ status: OutboxStatus.Failed, attempts: 0 });
  expect(bad.lastError).toMatch(/^JSON payload nested deeper than 64 levels \(level 65 opens at line 1, column 321\)/);
  for (const id of ['deep-before', 'deep-after', 'deep-at-limit']) expect((await rowByMessageId(h, id)).status).toBe(OutboxStatus.Published);
  expect((await drainQueue(h, 'orders', 3)).map((m) => m.messageId).sort()).toEqual(['deep-after', 'deep-at-limit', 'deep-before']);
});

it('a malformed-JSON reason says where, never what: no payload characters reach obx_lasterror', async () => {
  const secret = 'card-4111111111111111';
  const id = await createRaw({ [C.messageId]: 'json-secret', [C.payload]: `{"pan": "${secret}", oops}` });
  const ok = await createRaw({ [C.messageId]: 'json-secret-neighbour' });
  await publishUntilSettled([id, ok]);
  const row = await rowByMessageId(h, 'json-secret');
  expect(row.status).toBe(OutboxStatus.Failed);
  expect(row.lastError).toBe(
    'Malformed JSON payload (a property name in double quotes expected at line 1, column 34 (character 34 of 38)); obx_contenttype is "application/json". Fix the producer, then retry or cancel the row.',
  );
  expect(row.lastError).not.toMatch(/card|4111|oops|pan/);
  expect((await rowByMessageId(h, 'json-secret-neighbour')).status).toBe(OutboxStatus.Published);
  await drainQueue(h, 'orders', 1);
});

describe('one normalised target name', () => {
  it('the allow-list is trimmed and lower-cased once; so is every row target, and that form is sent to', () => {
    expect(parseSettings({}, h.appSettings).allowedTargets).toEqual(['orders', 'invoices', 'orders-by-key']);
  });

  it('a target with a trailing newline, surrounding spaces or other case publishes to the trimmed entity; never "does not exist"', async () => {
    const ids = [
      await createRaw({ [C.messageId]: 'target-newline', [C.target]: 'orders\n' }),
      await createRaw({ [C.messageId]: 'target-spaces', [C.target]: '  orders  ' }),
      await createRaw({ [C.messageId]: 'target-case', [C.target]: 'ORDERS' }),
      await createRaw({ [C.messageId]: 'target-tab-keyed', [C.target]: '\torders-by-key\r\n', [C.sessionKey]: 'nl-key' }),
    ];
    await publishUntilSettled(ids);
    for (const m of ['target-newline', 'target-spaces', 'target-case', 'target-tab-keyed']) {
      const row = await rowByMessageId(h, m);
      expect({ m, status: row.status, lastError: row.lastError }).toEqual({ m, status: OutboxStatus.Published, lastError: undefined });
    }
    expect((await drainQueue(h, 'orders', 3)).map((m) => m.messageId).sort()).toEqual(['target-case', 'target-newline', 'target-spaces']);
    const receiver = await h.serviceBus.acceptSession('orders-by-key', 'nl-key', { receiveMode: 'receiveAndDelete' });
    expect((await receiver.receiveMessages(5, { maxWaitTimeInMs: 1000 })).map((m) => m.messageId)).toEqual(['target-tab-keyed']);
    await receiver.close();
  });

  it('a target with inner white space or a control character fails at once with a specific permanent reason; its key is not blocked', async () => {
    const bad = await createRaw({ [C.messageId]: 'target-inner-space', [C.target]: 'ord ers', [C.sessionKey]: 'bad-target-key' });
    const ctl = await createRaw({ [C.messageId]: 'target-control', [C.target]: 'orders\u0007', [C.sessionKey]: 'bad-target-key' });
    const next = await createRaw({ [C.messageId]: 'target-next-of-key', [C.target]: 'orders-by-key', [C.sessionKey]: 'bad-target-key' });
    await publishUntilSettled([bad, ctl, next]);
    for (const m of ['target-inner-space', 'target-control']) {
      const row = await rowByMessageId(h, m);
      expect({ status: row.status, attempts: row.attempts }).toEqual({ status: OutboxStatus.Failed, attempts: 0 });
      expect(row.lastError).toMatch(/^obx_target is unusable: ".+" is not a valid queue or topic name/);
      expect(row.lastError).not.toContain('does not exist');
    }
    expect((await rowByMessageId(h, 'target-next-of-key')).status).toBe(OutboxStatus.Published);
    const receiver = await h.serviceBus.acceptSession('orders-by-key', 'bad-target-key', { receiveMode: 'receiveAndDelete' });
    expect((await receiver.receiveMessages(5, { maxWaitTimeInMs: 1000 })).map((m) => m.messageId)).toEqual(['target-next-of-key']);
    await receiver.close();
  });
});

it('a row written without obx_messageid (plug-in, flow, raw Web API call) is published under its row id', async () => {
  const id = await createRaw({ [C.sourceEntity]: 'raw-web-api' });
  const neighbour = await createRaw({ [C.messageId]: 'with-message-id' });
  await publishUntilSettled([id, neighbour]);
  const [row] = await h.store.readByIds([id]);
  expect({ status: row?.status, lastError: row?.lastError }).toEqual({ status: OutboxStatus.Published, lastError: undefined });
  const got = await drainQueue(h, 'orders', 2);
  const raw = got.find((m) => m.applicationProperties?.[MessageProperties.outboxId] === id);
  expect(raw?.messageId).toBe(id);
  expect(raw?.applicationProperties?.[MessageProperties.outboxMessageId]).toBe(id);
  expect(got.map((m) => m.messageId)).toContain('with-message-id');
});
