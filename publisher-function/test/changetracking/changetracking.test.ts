// The change-tracking source end to end: Dataverse emulator (change tracking on business tables) -> publisher ->
// Service Bus emulator (session queue with duplicate detection) -> official @azure/service-bus receiver.
import { MessageProperties, Settings, TraceProperties } from '@dataverse-outbox/contract';
import { ChangeTrackingProperties, type ChangeCycleResult } from '../../src/changetracking/core';
import type { ChangeSourceReport } from '../../src/changetracking/publisher';
import { bySession, CT_QUEUE, drainSessions, recordingLogger, recordingMetrics, setEnvironmentValue, startCtEnv, type CtEnv } from './support';

jest.setTimeout(120_000);

const OPPORTUNITIES = {
  name: 'opportunities',
  table: 'opportunity',
  entitySet: 'opportunities',
  columns: ['name', 'estimatedvalue', 'statecode'],
  target: CT_QUEUE,
  eventType: 'OpportunityChanged',
  deletedEventType: 'OpportunityDeleted',
};

function ran(r: ChangeSourceReport | undefined): ChangeCycleResult {
  if (!r || r.outcome !== 'ran') throw new Error(`expected a cycle that ran, got ${JSON.stringify(r)}`);
  return r as ChangeCycleResult;
}

describe('change-tracking source: creates, updates and deletes', () => {
  let env: CtEnv;
  beforeAll(async () => {
    env = await startCtEnv({ [Settings.ChangeTrackingSources.appSetting]: JSON.stringify([OPPORTUNITIES]) });
  });
  afterAll(async () => {
    await env?.close();
  });

  it('sends each change once, in order per record, with the spec properties, and checkpoints after sending', async () => {
    const { crm } = env;
    const a = (await crm.create('opportunities', { name: 'A', estimatedvalue: 100 })).id;
    const b = (await crm.create('opportunities', { name: 'B', estimatedvalue: 200 })).id;
    const c = (await crm.create('opportunities', { name: 'C', estimatedvalue: 300 })).id;
    const publisher = env.newPublisher();

    // 1. Initial synchronisation: every row.
    const first = ran((await publisher.runOnce())[0]);
    expect(first).toMatchObject({ source: 'opportunities', mode: 'initial', read: 3, published: 3, checkpointed: true });
    const cp1 = await env.checkpoint('opportunities');
    expect(cp1).toMatchObject({ name: 'opportunities', table: 'opportunity', resyncCount: 0 });
    expect(cp1?.deltaToken).toBeTruthy();
    expect(cp1?.lastSyncOn).toBeInstanceOf(Date);

    // 2. Nothing changed: nothing sent.
    expect(ran((await publisher.runOnce())[0])).toMatchObject({ mode: 'delta', read: 0, published: 0 });

    // 3. Updates, a deletion, a create and a delete in the same interval.
    await crm.update('opportunities', a, { name: 'A1' });
    expect(ran((await publisher.runOnce())[0])).toMatchObject({ mode: 'delta', read: 1, published: 1, checkpointed: true });
    await crm.update('opportunities', a, { name: 'A2', estimatedvalue: 150 });
    await crm.delete('opportunities', b);
    const d = (await crm.create('opportunities', { name: 'D' })).id;
    await crm.delete('opportunities', c);
    expect(ran((await publisher.runOnce())[0])).toMatchObject({ mode: 'delta', read: 4, published: 4 });
    const cp2 = await env.checkpoint('opportunities');
    expect(cp2?.deltaToken).not.toBe(cp1?.deltaToken);

    const messages = await drainSessions(env.serviceBus, CT_QUEUE);
    const ids = messages.map((m) => String(m.messageId));
    expect(new Set(ids).size).toBe(ids.length); // each once
    expect(messages).toHaveLength(8);
    const sessions = bySession(messages);
    const story = (id: string): [string | undefined, unknown][] =>
      (sessions.get(id) ?? []).map((m) => [m.subject, m.applicationProperties?.[ChangeTrackingProperties.changeKind] === 'deleted' ? 'deleted' : (m.body as { name?: unknown }).name]);
    expect(story(a)).toEqual([
      ['OpportunityChanged', 'A'],
      ['OpportunityChanged', 'A1'],
      ['OpportunityChanged', 'A2'],
    ]);
    expect(story(b)).toEqual([
      ['OpportunityChanged', 'B'],
      ['OpportunityDeleted', 'deleted'],
    ]);
    expect(story(c)).toEqual([
      ['OpportunityChanged', 'C'],
      ['OpportunityDeleted', 'deleted'],
    ]);
    expect(story(d)).toEqual([['OpportunityChanged', 'D']]);

    // Message shape: body = the configured columns (and the key); deletions carry only the id.
    const lastA = sessions.get(a)!.at(-1)!;
    const version = String(lastA.applicationProperties?.[ChangeTrackingProperties.changeVersion]);
    expect(lastA.messageId).toBe(`opportunity:${a}:v${version}`);
    expect(lastA.body).toEqual({ opportunityid: a, name: 'A2', estimatedvalue: 150, statecode: 0 });
    expect(lastA.contentType).toBe('application/json');
    expect(lastA.sessionId).toBe(a);
    expect(lastA.applicationProperties).toEqual({
      [MessageProperties.outboxMessageId]: lastA.messageId,
      [MessageProperties.sourceEntity]: 'opportunity',
      [MessageProperties.sourceId]: a,
      [ChangeTrackingProperties.changeKind]: 'changed',
      [ChangeTrackingProperties.changeSource]: 'opportunities',
      [ChangeTrackingProperties.changeVersion]: version,
      // The change's own trace (tracing.test.ts checks it).
      [TraceProperties.diagnosticId]: lastA.applicationProperties?.[TraceProperties.traceParent],
      [TraceProperties.traceParent]: expect.stringMatching(/^00-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$/),
    });
    const deletedB = sessions.get(b)!.at(-1)!;
    expect(deletedB.messageId).toBe(`opportunity:${b}:deleted`);
    expect(deletedB.body).toEqual({ opportunityid: b, '@removed': { reason: 'deleted' } });
    expect(deletedB.applicationProperties?.[ChangeTrackingProperties.changeVersion]).toBeUndefined();
  });

  it('pages the initial synchronisation (odata.maxpagesize); an idle delta costs one read and no checkpoint write', async () => {
    const scratch = await startCtEnv({
      [Settings.ChangeTrackingSources.appSetting]: JSON.stringify([{ ...OPPORTUNITIES, pageSize: 7 }]),
      [Settings.BatchSize.appSetting]: '3',
    });
    try {
      const ids = await scratch.crm.createMultiple('opportunities', 'opportunity', Array.from({ length: 25 }, (_, i) => ({ name: `P${i}` })));
      const publisher = scratch.newPublisher();
      await publisher.loadSettings();
      scratch.dv.resetRequestCounters();
      expect(ran((await publisher.runOnce())[0])).toMatchObject({ mode: 'initial', read: 25, published: 25, checkpointed: true });
      const initial = scratch.dv.getRequestCounters().total.byOperation;
      expect(initial['GET opportunities']).toBe(4); // 7 + 7 + 7 + 4
      expect(ids).toHaveLength(25);

      scratch.dv.resetRequestCounters();
      expect(ran((await publisher.runOnce())[0])).toMatchObject({ mode: 'delta', read: 0, checkpointed: false });
      const idle = scratch.dv.getRequestCounters().total.byOperation;
      expect(idle['GET opportunities']).toBe(1);
      expect(idle['PATCH obx_changecheckpoints'] ?? 0).toBe(0);
    } finally {
      await scratch.close();
    }
  });
});

describe('change-tracking settings', () => {
  it('reads obx_ChangeTrackingSources from the environment value in Dataverse; the app setting overrides it', async () => {
    const env = await startCtEnv();
    try {
      await setEnvironmentValue(env.client, Settings.ChangeTrackingSources.schemaName, JSON.stringify([{ ...OPPORTUNITIES, name: 'from-dataverse' }]));
      const fromDataverse = await env.newPublisher().loadSettings();
      expect(fromDataverse.sources.map((s) => s.name)).toEqual(['from-dataverse']);
      const overridden = await env
        .newPublisher({ appSettings: { OUTBOX_ALLOWED_TARGETS: JSON.stringify([CT_QUEUE]), [Settings.ChangeTrackingSources.appSetting]: JSON.stringify([{ ...OPPORTUNITIES, name: 'from-app-setting' }]) } })
        .loadSettings();
      expect(overridden.sources.map((s) => s.name)).toEqual(['from-app-setting']);
      await expect(env.newPublisher({ appSettings: { OUTBOX_ALLOWED_TARGETS: '[]' } }).loadSettings()).rejects.toThrow(/target "crm-changes" is not in the allowed targets/);
    } finally {
      await env.close();
    }
  });
});

describe('crash after send, before the checkpoint', () => {
  it('re-sends the same messageIds, which duplicate detection drops (initial sync and delta)', async () => {
    const env = await startCtEnv({ [Settings.ChangeTrackingSources.appSetting]: JSON.stringify([OPPORTUNITIES]) });
    try {
      const ids = await env.crm.createMultiple('opportunities', 'opportunity', [{ name: 'X' }, { name: 'Y' }, { name: 'Z' }]);
      const logger = recordingLogger();
      const publisher = env.newPublisher({ logger });
      // Every checkpoint write fails (after the messages went out), as if the process died between the two.
      const fault = env.dv.injectFault({ kind: 'drop', rate: 1, entitySet: 'obx_changecheckpoints', method: 'PATCH' });
      const failed = (await publisher.runOnce())[0];
      expect(failed).toMatchObject({ source: 'opportunities', outcome: 'error' });
      expect(await env.checkpoint('opportunities')).toBeUndefined();
      expect(logger.entries.some((e) => e.level === 'error' && e.message.includes('nothing was checkpointed'))).toBe(true);
      env.dv.removeFault(fault.id);

      const again = ran((await publisher.runOnce())[0]);
      expect(again).toMatchObject({ mode: 'initial', read: 3, published: 3, checkpointed: true });
      let messages = await drainSessions(env.serviceBus, CT_QUEUE);
      expect(messages.map((m) => m.sessionId).sort()).toEqual([...ids].sort()); // 6 sent, 3 kept

      // Same in delta mode.
      await env.crm.update('opportunities', ids[0]!, { name: 'X1' });
      const fault2 = env.dv.injectFault({ kind: 'drop', rate: 1, entitySet: 'obx_changecheckpoints', method: 'PATCH' });
      expect((await publisher.runOnce())[0]).toMatchObject({ outcome: 'error' });
      env.dv.removeFault(fault2.id);
      expect(ran((await publisher.runOnce())[0])).toMatchObject({ mode: 'delta', read: 1, published: 1, checkpointed: true });
      messages = await drainSessions(env.serviceBus, CT_QUEUE);
      expect(messages.map((m) => [m.sessionId, (m.body as { name: string }).name])).toEqual([[ids[0], 'X1']]);
    } finally {
      await env.close();
    }
  });
});

describe('expired delta token', () => {
  it('takes the resync path: error log, resync metric, reason on the checkpoint, full re-read deduplicated by messageId', async () => {
    const env = await startCtEnv({ [Settings.ChangeTrackingSources.appSetting]: JSON.stringify([OPPORTUNITIES]) });
    try {
      const [k1, k2] = await env.crm.createMultiple('opportunities', 'opportunity', [{ name: 'K1' }, { name: 'K2' }]);
      const logger = recordingLogger();
      const metrics = recordingMetrics();
      const publisher = env.newPublisher({ logger, metrics });
      expect(ran((await publisher.runOnce())[0])).toMatchObject({ mode: 'initial', published: 2 });
      await env.crm.update('opportunities', k1!, { name: 'K1b' });
      expect(ran((await publisher.runOnce())[0])).toMatchObject({ mode: 'delta', published: 1 });
      const before = await env.checkpoint('opportunities');
      expect(await drainSessions(env.serviceBus, CT_QUEUE)).toHaveLength(3);

      // Eight days without a sync: Dataverse has dropped the changes behind the token (7 days).
      env.dv.setClockOffset(8 * 24 * 3600_000);
      const k3 = (await env.crm.create('opportunities', { name: 'K3' })).id;
      await env.crm.delete('opportunities', k2!);

      const r = ran((await publisher.runOnce())[0]);
      expect(r).toMatchObject({ mode: 'resync', read: 2, published: 2, checkpointed: true });
      expect(r.resyncReason).toMatch(/^TokenExpired at .*rows deleted between .* and now cannot be seen/);
      expect(metrics.resyncs).toEqual([{ source: 'opportunities', reason: 'TokenExpired' }]);
      const alert = logger.entries.find((e) => e.level === 'error' && e.message.includes('resyncing the whole table'));
      expect(alert?.fields).toMatchObject({ source: 'opportunities', table: 'opportunity', code: 'TokenExpired', lastSyncOn: before?.lastSyncOn?.toISOString() });
      const after = await env.checkpoint('opportunities');
      expect(after).toMatchObject({ resyncCount: 1, resyncReason: r.resyncReason });
      expect(after?.lastResyncOn).toBeInstanceOf(Date);
      expect(after?.deltaToken).toBeTruthy();
      expect(after?.deltaToken).not.toBe(before?.deltaToken);

      // K1b was already sent: its copy is dropped; only K3 is new. K2's deletion fell in the gap (documented limit).
      const messages = await drainSessions(env.serviceBus, CT_QUEUE);
      expect(messages.map((m) => [m.sessionId, (m.body as { name: string }).name])).toEqual([[k3, 'K3']]);

      // Back to normal deltas afterwards.
      await env.crm.update('opportunities', k3, { name: 'K3b' });
      expect(ran((await publisher.runOnce())[0])).toMatchObject({ mode: 'delta', read: 1, published: 1 });
      expect(metrics.resyncs).toHaveLength(1);
    } finally {
      await env.close();
    }
  });
});
