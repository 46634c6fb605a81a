// Conformance: bulk operation messages (Microsoft Learn: "Use bulk operation messages"), BulkDelete ("Delete data in
// bulk"), FetchXML ("Query data using FetchXml", aggregates), change tracking ("Use change tracking to synchronize data
// with external systems").
import { OutboxMessage, OutboxStatus } from '@dataverse-outbox/contract';
import { DataverseAdminClient } from '@dataverse-outbox/emulators/admin';
import type { DataverseEmulator } from '@dataverse-outbox/emulators/dataverse';
import { outboxRow, startEmulator, type WebApi } from './support';

const SET = OutboxMessage.entitySetName;
const TYPE = `Microsoft.Dynamics.CRM.${OutboxMessage.logicalName}`;
let emulator: DataverseEmulator;
let api: WebApi;

beforeEach(async () => {
  ({ emulator, api } = await startEmulator());
});
afterEach(async () => {
  await emulator.close();
});

const typed = (r: Record<string, unknown>): Record<string, unknown> => ({ ...r, '@odata.type': TYPE });

describe('CreateMultiple / UpdateMultiple / UpsertMultiple', () => {
  test('CreateMultiple returns the Ids in order; UpdateMultiple updates them all', async () => {
    const created = await api.post(`${SET}/Microsoft.Dynamics.CRM.CreateMultiple`, { Targets: [typed(outboxRow('b-1')), typed(outboxRow('b-2'))] });
    expect(created.status).toBe(200);
    const idsOut = created.json['Ids'] as string[];
    expect(idsOut).toHaveLength(2);
    const updated = await api.post(`${SET}/Microsoft.Dynamics.CRM.UpdateMultiple`, {
      Targets: idsOut.map((id) => typed({ obx_outboxmessageid: id, obx_status: OutboxStatus.Published })),
    });
    expect(updated.status).toBe(204);
    const rows = await api.rows(SET, `$filter=obx_status eq ${OutboxStatus.Published}&$select=obx_messageid`);
    expect(rows.map((r) => r['obx_messageid']).sort()).toEqual(['b-1', 'b-2']);
  });

  test('all or nothing: one bad target rolls back the whole request', async () => {
    const res = await api.post(`${SET}/Microsoft.Dynamics.CRM.CreateMultiple`, {
      Targets: [typed(outboxRow('ok-1')), typed(outboxRow('ok-2', { obx_attempts: 'three' }))],
    });
    expect(res.status).toBe(400);
    expect((res.json['error'] as { code: string }).code).toBe('0x80048d19');
    expect(await api.rows(SET, '$select=obx_messageid')).toHaveLength(0);
    const ids = (await api.post(`${SET}/Microsoft.Dynamics.CRM.CreateMultiple`, { Targets: [typed(outboxRow('u-1'))] })).json['Ids'] as string[];
    const upd = await api.post(`${SET}/Microsoft.Dynamics.CRM.UpdateMultiple`, {
      Targets: [typed({ obx_outboxmessageid: ids[0], obx_attempts: 1 }), typed({ obx_outboxmessageid: '00000000-0000-0000-0000-0000000000aa', obx_attempts: 1 })],
    });
    expect(upd.status).toBe(404);
    expect((await api.get(`${SET}(${String(ids[0])})?$select=obx_attempts`)).json['obx_attempts']).toBeNull();
  });

  test('every target needs @odata.type', async () => {
    const res = await api.post(`${SET}/Microsoft.Dynamics.CRM.CreateMultiple`, { Targets: [outboxRow('untyped')] });
    expect(res.status).toBe(400);
    expect((res.json['error'] as { message: string }).message).toContain('@odata.type');
  });

  test('UpsertMultiple by alternate key creates once, then updates', async () => {
    const body = { Targets: [typed(outboxRow('up-1', { obx_attempts: 1 })), typed(outboxRow('up-2', { obx_attempts: 1 }))] };
    expect((await api.post(`${SET}/Microsoft.Dynamics.CRM.UpsertMultiple`, body)).status).toBe(204);
    body.Targets = body.Targets.map((t) => ({ ...t, obx_attempts: 2 }));
    expect((await api.post(`${SET}/Microsoft.Dynamics.CRM.UpsertMultiple`, body)).status).toBe(204);
    const rows = await api.rows(SET, '$select=obx_messageid,obx_attempts&$orderby=obx_messageid');
    expect(rows.map((r) => [r['obx_messageid'], r['obx_attempts']])).toEqual([
      ['up-1', 2],
      ['up-2', 2],
    ]);
  });
});

describe('BulkDelete', () => {
  const cleanupQuery = (days: number): unknown => ({
    EntityName: OutboxMessage.logicalName,
    ColumnSet: { AllColumns: false, Columns: [] },
    Criteria: {
      FilterOperator: 'And',
      Conditions: [
        { AttributeName: 'obx_status', Operator: 'In', Values: [{ Value: String(OutboxStatus.Acked), Type: 'System.Int32' }] },
        { AttributeName: 'modifiedon', Operator: 'OlderThanXDays', Values: [{ Value: String(days), Type: 'System.Int32' }] },
      ],
    },
  });

  test('stores the job with its recurrence; due jobs delete only matching rows, in batches, and reschedule', async () => {
    const targets = Array.from({ length: 2500 }, (_, i) => typed(outboxRow(`bd-${i}`, { obx_status: i % 2 === 0 ? OutboxStatus.Acked : OutboxStatus.Pending })));
    expect((await api.post(`${SET}/Microsoft.Dynamics.CRM.CreateMultiple`, { Targets: targets })).status).toBe(200);
    const start = new Date(Date.now() + 3_600_000).toISOString();
    const submitted = await api.post('BulkDelete', {
      QuerySet: [cleanupQuery(7)],
      JobName: 'Outbox cleanup',
      SendEmailNotification: false,
      ToRecipients: [],
      CCRecipients: [],
      RecurrencePattern: 'FREQ=DAILY;INTERVAL=1;',
      StartDateTime: start,
    });
    expect(submitted.status).toBe(200);
    const jobId = String(submitted.json['JobId']);
    const job = await api.get(`asyncoperations(${jobId})?$select=name,operationtype,statecode,statuscode,recurrencepattern,postponeuntil`);
    expect(job.json).toMatchObject({ name: 'Outbox cleanup', operationtype: 13, statecode: 0, statuscode: 10, recurrencepattern: 'FREQ=DAILY;INTERVAL=1;' });

    // Not due yet.
    expect(await emulator.runDueBulkDeleteJobs()).toEqual([]);
    // Eight days later: the Acked rows are older than 7 days; the Pending ones stay.
    const later = new Date(Date.now() + 8 * 86_400_000);
    const [run] = await emulator.runDueBulkDeleteJobs({ now: later });
    expect(run).toMatchObject({ jobId, deleted: 1250 });
    expect(run?.nextRunOn).toBeDefined();
    const left = await api.get(`${SET}/$count`);
    expect(left.text).toBe('1250');
    expect(await api.rows(SET, `$filter=obx_status eq ${OutboxStatus.Acked}&$select=obx_messageid`)).toHaveLength(0);
    const after = await api.get(`asyncoperations(${jobId})?$select=statecode,statuscode,postponeuntil`);
    expect(after.json).toMatchObject({ statecode: 0, statuscode: 10 });
    expect(Date.parse(String(after.json['postponeuntil']))).toBeGreaterThan(later.getTime());
    const ops = await api.rows('bulkdeleteoperations', `$filter=_asyncoperationid_value eq ${jobId}&$select=successcount,isrecurring`);
    expect(ops[0]).toMatchObject({ successcount: 1250, isrecurring: true });
  });

  test('the admin endpoint runs due jobs too; a one-off job completes', async () => {
    await api.create(SET, outboxRow('old-acked', { obx_status: OutboxStatus.Acked }));
    const submitted = await api.post('BulkDelete', {
      QuerySet: [cleanupQuery(0)],
      JobName: 'once',
      SendEmailNotification: false,
      ToRecipients: [],
      CCRecipients: [],
      RecurrencePattern: '',
      StartDateTime: new Date(Date.now() - 1000).toISOString(),
    });
    const results = await new DataverseAdminClient(emulator.url).runDueBulkDeleteJobs({ now: new Date(Date.now() + 5000) });
    expect(results).toHaveLength(1);
    expect(results[0]?.deleted).toBe(1);
    const job = await api.get(`asyncoperations(${String(submitted.json['JobId'])})?$select=statecode,statuscode`);
    expect(job.json).toMatchObject({ statecode: 3, statuscode: 30 });
  });

  test('a running job does not block the Web API; a row that stops matching mid-job survives', async () => {
    const acked = Array.from({ length: 3000 }, (_, i) => typed(outboxRow(`run-${i}`, { obx_status: OutboxStatus.Acked })));
    expect((await api.post(`${SET}/Microsoft.Dynamics.CRM.CreateMultiple`, { Targets: acked })).status).toBe(200);
    const keeperId = await api.create(SET, outboxRow('keeper', { obx_status: OutboxStatus.Pending }));
    // The last Acked row created: deleted last, so it still exists when the PATCH below arrives.
    const [lastAcked] = await api.rows(SET, `$filter=obx_messageid eq 'run-2999'&$select=obx_outboxmessageid`);
    const switchedId = String(lastAcked?.['obx_outboxmessageid']);
    const submitted = await api.post('BulkDelete', {
      QuerySet: [
        {
          EntityName: OutboxMessage.logicalName,
          Criteria: { FilterOperator: 'And', Conditions: [{ AttributeName: 'obx_status', Operator: 'Equal', Values: [{ Value: String(OutboxStatus.Acked), Type: 'System.Int32' }] }] },
        },
      ],
      JobName: 'async',
      SendEmailNotification: false,
      ToRecipients: [],
      CCRecipients: [],
      RecurrencePattern: '',
      StartDateTime: new Date(Date.now() - 1000).toISOString(),
    });
    const jobId = String(submitted.json['JobId']);

    let finished = false;
    // 10 rows per transaction: 300 batches, each followed by a turn of the event loop.
    const job = emulator.runDueBulkDeleteJobs({ batchSize: 10 }).then((r) => {
      finished = true;
      return r;
    });
    const read = await api.get(`${SET}(${keeperId})?$select=obx_messageid`);
    expect(read.status).toBe(200);
    expect(read.json['obx_messageid']).toBe('keeper');
    const patched = await api.patch(`${SET}(${switchedId})`, { obx_status: OutboxStatus.Pending });
    expect(patched.status).toBe(204);
    const during = await api.get(`asyncoperations(${jobId})?$select=statecode,statuscode`);
    expect(during.json).toMatchObject({ statecode: 2, statuscode: 20 });
    expect(finished).toBe(false);

    const [run] = await job;
    expect(run).toMatchObject({ jobId, deleted: 2999 });
    expect((await api.get(`${SET}(${switchedId})?$select=obx_status`)).json['obx_status']).toBe(OutboxStatus.Pending);
    expect((await api.get(`${SET}/$count`)).text).toBe('2');
    const after = await api.get(`asyncoperations(${jobId})?$select=statecode,statuscode`);
    expect(after.json).toMatchObject({ statecode: 3, statuscode: 30 });
    const ops = await api.rows('bulkdeleteoperations', `$filter=_asyncoperationid_value eq ${jobId}&$select=successcount,statecode,statuscode`);
    expect(ops[0]).toMatchObject({ successcount: 2999, statecode: 3, statuscode: 30 });
    // A second run while none is due does nothing.
    expect(await emulator.runDueBulkDeleteJobs()).toEqual([]);
  }, 60_000);

  test('close() stops a running job between batches and waits for it', async () => {
    const rows = Array.from({ length: 2000 }, (_, i) => typed(outboxRow(`close-${i}`, { obx_status: OutboxStatus.Acked })));
    expect((await api.post(`${SET}/Microsoft.Dynamics.CRM.CreateMultiple`, { Targets: rows })).status).toBe(200);
    await api.post('BulkDelete', {
      QuerySet: [{ EntityName: OutboxMessage.logicalName, Criteria: { Conditions: [{ AttributeName: 'obx_status', Operator: 'Equal', Values: [{ Value: String(OutboxStatus.Acked) }] }] } }],
      JobName: 'interrupted',
      SendEmailNotification: false,
      ToRecipients: [],
      CCRecipients: [],
      RecurrencePattern: '',
      StartDateTime: new Date(Date.now() - 1000).toISOString(),
    });
    const job = emulator.runDueBulkDeleteJobs({ batchSize: 5 });
    await emulator.close();
    const [run] = await job;
    expect(run?.deleted).toBeGreaterThan(0);
    expect(run?.deleted).toBeLessThan(2000);
  }, 60_000);

  test('a job naming an unknown column is refused at submission', async () => {
    const res = await api.post('BulkDelete', {
      QuerySet: [{ EntityName: OutboxMessage.logicalName, Criteria: { Conditions: [{ AttributeName: 'obx_nope', Operator: 'Equal', Values: [{ Value: '1' }] }] } }],
      JobName: 'bad',
      SendEmailNotification: false,
      ToRecipients: [],
      CCRecipients: [],
      RecurrencePattern: '',
      StartDateTime: new Date().toISOString(),
    });
    expect(res.status).toBe(400);
    expect(await api.rows('asyncoperations', '$select=name')).toHaveLength(0);
  });
});

describe('FetchXML', () => {
  test('aggregate count grouped by status, and date operators', async () => {
    const targets = [OutboxStatus.Pending, OutboxStatus.Pending, OutboxStatus.Failed].map((s, i) => typed(outboxRow(`f-${i}`, { obx_status: s })));
    await api.post(`${SET}/Microsoft.Dynamics.CRM.CreateMultiple`, { Targets: targets });
    const fetchXml = `<fetch aggregate="true"><entity name="${OutboxMessage.logicalName}"><attribute name="obx_status" groupby="true" alias="status"/><attribute name="obx_outboxmessageid" aggregate="count" alias="n"/><order alias="status"/><filter><condition attribute="createdon" operator="last-x-hours" value="1"/></filter></entity></fetch>`;
    const res = await api.get(`${SET}?fetchXml=${encodeURIComponent(fetchXml)}`, { headers: { Prefer: 'odata.include-annotations="OData.Community.Display.V1.FormattedValue"' } });
    expect(res.status).toBe(200);
    expect(res.json['value']).toEqual([
      { status: OutboxStatus.Pending, 'status@OData.Community.Display.V1.FormattedValue': 'Pending', n: 2 },
      { status: OutboxStatus.Failed, 'status@OData.Community.Display.V1.FormattedValue': 'Failed', n: 1 },
    ]);
    const older = `<fetch><entity name="${OutboxMessage.logicalName}"><attribute name="obx_messageid"/><filter><condition attribute="createdon" operator="olderthan-x-days" value="1"/></filter></entity></fetch>`;
    expect(((await api.get(`${SET}?fetchXml=${encodeURIComponent(older)}`)).json['value'] as unknown[]).length).toBe(0);
  });

  test('count/page paging sets morerecords; an unknown attribute is 0x80041103', async () => {
    await api.post(`${SET}/Microsoft.Dynamics.CRM.CreateMultiple`, { Targets: Array.from({ length: 5 }, (_, i) => typed(outboxRow(`p-${i}`))) });
    const page = (n: number): string =>
      encodeURIComponent(`<fetch count="2" page="${n}"><entity name="${OutboxMessage.logicalName}"><attribute name="obx_messageid"/><order attribute="obx_messageid"/></entity></fetch>`);
    const p3 = await api.get(`${SET}?fetchXml=${page(3)}`);
    expect((p3.json['value'] as Record<string, unknown>[]).map((r) => r['obx_messageid'])).toEqual(['p-4']);
    expect(p3.json['@Microsoft.Dynamics.CRM.morerecords']).toBe(false);
    expect((await api.get(`${SET}?fetchXml=${page(1)}`)).json['@Microsoft.Dynamics.CRM.morerecords']).toBe(true);
    const bad = await api.get(`${SET}?fetchXml=${encodeURIComponent(`<fetch><entity name="${OutboxMessage.logicalName}"><attribute name="nope"/></entity></fetch>`)}`);
    expect(bad.status).toBe(400);
    expect((bad.json['error'] as { code: string }).code).toBe('0x80041103');
  });

  test('an aggregate over more rows than the limit fails with 0x8004E023', async () => {
    await emulator.close();
    ({ emulator, api } = await startEmulator({ aggregateQueryRecordLimit: 3 }));
    await api.post(`${SET}/Microsoft.Dynamics.CRM.CreateMultiple`, { Targets: Array.from({ length: 4 }, (_, i) => typed(outboxRow(`a-${i}`))) });
    const fx = `<fetch aggregate="true"><entity name="${OutboxMessage.logicalName}"><attribute name="obx_outboxmessageid" aggregate="count" alias="n"/></entity></fetch>`;
    const res = await api.get(`${SET}?fetchXml=${encodeURIComponent(fx)}`);
    expect(res.status).toBe(400);
    expect((res.json['error'] as { code: string }).code).toBe('0x8004E023');
  });
});

describe('change tracking', () => {
  test('a delta link returns only what changed since the last token, including deletions', async () => {
    const a = await api.create(SET, outboxRow('ct-a'));
    const b = await api.create(SET, outboxRow('ct-b'));
    await api.create(SET, outboxRow('ct-c'));
    const initial = await api.get(`${SET}?$select=obx_messageid,obx_status`, { headers: { Prefer: 'odata.track-changes' } });
    expect(initial.status).toBe(200);
    expect(initial.json['value']).toHaveLength(3);
    const deltaLink = String(initial.json['@odata.deltaLink']);
    expect(deltaLink).toMatch(/\$deltatoken=\d+%21\d{2}%2F\d{2}%2F\d{4}/);

    await api.patch(`${SET}(${a})`, { obx_status: OutboxStatus.Published });
    await api.delete(`${SET}(${b})`);
    await api.create(SET, outboxRow('ct-d'));

    const delta = await api.get(deltaLink, { headers: { Prefer: 'odata.track-changes' } });
    expect(delta.status).toBe(200);
    expect(String(delta.json['@odata.context'])).toMatch(/\/\$delta$/);
    const value = delta.json['value'] as Record<string, unknown>[];
    expect(value.filter((r) => r['reason'] === undefined).map((r) => r['obx_messageid']).sort()).toEqual(['ct-a', 'ct-d']);
    expect(value.filter((r) => r['reason'] === 'deleted')).toEqual([{ '@odata.context': `${emulator.apiUrl}$metadata#${SET}/$deletedEntity`, id: b, reason: 'deleted' }]);

    const next = await api.get(String(delta.json['@odata.deltaLink']), { headers: { Prefer: 'odata.track-changes' } });
    expect(next.json['value']).toEqual([]);
  });

  test('an expired token gets 0x80044352 (token lifetime configurable); a garbled one is refused', async () => {
    await api.create(SET, outboxRow('ct-x'));
    const initial = await api.get(`${SET}?$select=obx_messageid`, { headers: { Prefer: 'odata.track-changes' } });
    emulator.setChangeTrackingTokenTtl(0);
    emulator.setClockOffset(2000);
    const expired = await api.get(String(initial.json['@odata.deltaLink']));
    expect(expired.status).toBe(400);
    expect(expired.json).toEqual({ error: { code: '0x80044352', message: 'Version stamp associated with the client has expired. Please perform a full sync.' } });
    const garbled = await api.get(`${SET}?$deltatoken=xyz`);
    expect(garbled.status).toBe(400);
  });

  test('tables without change tracking refuse odata.track-changes', async () => {
    const res = await api.get('roles', { headers: { Prefer: 'odata.track-changes' } });
    expect(res.status).toBe(400);
  });
});
