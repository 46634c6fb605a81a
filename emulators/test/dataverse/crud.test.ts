// Conformance: create, retrieve, update/upsert, delete, ETags and alternate keys.
// Microsoft Learn: "Create a table row using the Web API", "Retrieve a table row using the Web API",
// "Update and delete table rows using the Web API", "Perform conditional operations using the Web API",
// "Use an alternate key to reference a record".
import { OutboxMessage, OutboxStatus } from '@dataverse-outbox/contract';
import type { DataverseEmulator } from '@dataverse-outbox/emulators/dataverse';
import { outboxRow, startEmulator, type WebApi } from './support';

const SET = OutboxMessage.entitySetName;
let emulator: DataverseEmulator;
let api: WebApi;

beforeAll(async () => {
  ({ emulator, api } = await startEmulator());
});
afterAll(async () => {
  await emulator.close();
});

describe('authentication', () => {
  test('a request without a bearer token gets 401 with a WWW-Authenticate challenge', async () => {
    const res = await api.get(SET, { token: null });
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toMatch(/^Bearer authorization_uri=/);
  });

  test('WhoAmI names the caller from the token; an unsigned JWT contributes its appid', async () => {
    const a = await api.get('WhoAmI', { token: 'alice' });
    const a2 = await api.get('WhoAmI()', { token: 'alice' });
    const b = await api.get('WhoAmI', { token: 'bob' });
    expect(a.status).toBe(200);
    expect(a.json['UserId']).toBe(a2.json['UserId']);
    expect(a.json['UserId']).not.toBe(b.json['UserId']);
    const appId = '11111111-2222-4333-8444-555555555555';
    const jwt = `e30.${Buffer.from(JSON.stringify({ appid: appId, oid: '99999999-2222-4333-8444-555555555555' })).toString('base64url')}.sig`;
    const app = await api.get('WhoAmI', { token: jwt });
    const user = await api.get(`systemusers(${String(app.json['UserId'])})?$select=applicationid,accessmode`, { token: jwt });
    expect(user.json['applicationid']).toBe(appId);
  });
});

describe('create and retrieve (Create a table row using the Web API)', () => {
  test('POST returns 204 with OData-EntityId; the row has defaults, autonumber and an etag', async () => {
    const res = await api.post(SET, outboxRow('crud-1'));
    expect(res.status).toBe(204);
    const id = /\(([0-9a-f-]{36})\)$/.exec(res.headers.get('odata-entityid') ?? '')?.[1];
    expect(id).toBeDefined();
    const got = await api.get(`${SET}(${String(id)})`);
    expect(got.status).toBe(200);
    expect(got.json['@odata.context']).toBe(`${emulator.apiUrl}$metadata#${SET}/$entity`);
    expect(got.json['@odata.etag']).toMatch(/^W\/"\d+"$/);
    expect(got.json['obx_status']).toBe(OutboxStatus.Pending); // choice default
    expect(got.json['obx_sequence']).toMatch(/^\d{12}$/); // {SEQNUM:12}
    expect(got.json['statecode']).toBe(0);
    expect(got.json['statuscode']).toBe(1);
    expect(got.json['createdon']).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/); // whole seconds
    expect(typeof got.json['_createdby_value']).toBe('string');
  });

  test('Prefer: return=representation returns 201 with the row and honours $select', async () => {
    const res = await api.post(`${SET}?$select=obx_messageid,obx_status`, outboxRow('crud-2'), { headers: { Prefer: 'return=representation' } });
    expect(res.status).toBe(201);
    expect(res.headers.get('preference-applied')).toBe('return=representation');
    expect(res.json['@odata.context']).toBe(`${emulator.apiUrl}$metadata#${SET}(obx_messageid,obx_status)/$entity`);
    expect(Object.keys(res.json).sort()).toEqual(['@odata.context', '@odata.etag', 'obx_messageid', 'obx_outboxmessageid', 'obx_status'].sort());
  });

  test('autonumber values increase in creation order', async () => {
    const a = await api.post(`${SET}?$select=obx_sequence`, outboxRow('seq-a'), { headers: { Prefer: 'return=representation' } });
    const b = await api.post(`${SET}?$select=obx_sequence`, outboxRow('seq-b'), { headers: { Prefer: 'return=representation' } });
    expect(String(b.json['obx_sequence']) > String(a.json['obx_sequence'])).toBe(true);
  });

  test('retrieve by alternate key; a missing record is 404 0x80040217', async () => {
    await api.create(SET, outboxRow('by-key'));
    const got = await api.get(`${SET}(obx_messageid='by-key')?$select=obx_messageid`);
    expect(got.status).toBe(200);
    expect(got.json['obx_messageid']).toBe('by-key');
    const missingKey = await api.get(`${SET}(obx_messageid='nope')`);
    expect(missingKey.status).toBe(404);
    expect(missingKey.json).toEqual({ error: { code: '0x80040217', message: `A record with the specified key values does not exist in ${OutboxMessage.logicalName} entity` } });
    const missingId = await api.get(`${SET}(00000000-0000-0000-0000-000000000001)`);
    expect(missingId.status).toBe(404);
    expect((missingId.json['error'] as { code: string }).code).toBe('0x80040217');
  });

  test('a second row with the same alternate key is refused with 412 0x80040237 (alternate key uniqueness)', async () => {
    await api.create(SET, outboxRow('dup-key'));
    const res = await api.post(SET, outboxRow('DUP-KEY')); // keys compare case-insensitively, as in SQL Server
    expect(res.status).toBe(412);
    expect((res.json['error'] as { code: string }).code).toBe('0x80040237');
    expect(await api.rows(SET, `$filter=obx_messageid eq 'dup-key'&$select=obx_messageid`)).toHaveLength(1);
  });

  test('a required column left empty is refused and nothing is written', async () => {
    const res = await api.post(SET, { obx_messageid: 'no-target' });
    expect(res.status).toBe(400);
    expect((res.json['error'] as { code: string }).code).toBe('0x80040203');
    expect(await api.rows(SET, `$filter=obx_messageid eq 'no-target'`)).toHaveLength(0);
  });
});

describe('update, upsert and optimistic concurrency (Perform conditional operations using the Web API)', () => {
  test('PATCH with the current ETag succeeds and changes the ETag; a stale ETag gets 412 0x80060882 and changes nothing', async () => {
    const id = await api.create(SET, outboxRow('etag-1'));
    const first = await api.get(`${SET}(${id})?$select=obx_attempts`);
    const etag = String(first.json['@odata.etag']);
    const ok = await api.patch(`${SET}(${id})`, { obx_attempts: 1 }, { headers: { 'If-Match': etag } });
    expect(ok.status).toBe(204);
    const stale = await api.patch(`${SET}(${id})`, { obx_attempts: 99 }, { headers: { 'If-Match': etag } });
    expect(stale.status).toBe(412);
    expect(stale.json).toEqual({ error: { code: '0x80060882', message: "The version of the existing record doesn't match the RowVersion property provided." } });
    const after = await api.get(`${SET}(${id})?$select=obx_attempts`);
    expect(after.json['obx_attempts']).toBe(1);
    expect(after.json['@odata.etag']).not.toBe(etag);
  });

  test('GET with If-None-Match of the current ETag is 304 Not Modified', async () => {
    const id = await api.create(SET, outboxRow('etag-304'));
    const first = await api.get(`${SET}(${id})`);
    const res = await api.get(`${SET}(${id})`, { headers: { 'If-None-Match': String(first.json['@odata.etag']) } });
    expect(res.status).toBe(304);
  });

  test('alternate-key upsert creates once and then updates (Use Upsert to create or update a record)', async () => {
    const url = `${SET}(obx_messageid='upsert-1')`;
    const created = await api.patch(url, { obx_target: 'orders', obx_attempts: 1 });
    expect(created.status).toBe(204);
    const updated = await api.patch(url, { obx_attempts: 2 }, { headers: { Prefer: 'return=representation' } });
    expect(updated.status).toBe(200);
    expect(updated.json['obx_attempts']).toBe(2);
    const rows = await api.rows(SET, `$filter=obx_messageid eq 'upsert-1'&$select=obx_attempts`);
    expect(rows).toHaveLength(1);
  });

  test('If-Match: * prevents create (404); If-None-Match: * prevents update (412 0x80040237)', async () => {
    const noCreate = await api.patch(`${SET}(obx_messageid='never')`, { obx_target: 'x' }, { headers: { 'If-Match': '*' } });
    expect(noCreate.status).toBe(404);
    expect(await api.rows(SET, `$filter=obx_messageid eq 'never'`)).toHaveLength(0);
    await api.create(SET, outboxRow('exists'));
    const noUpdate = await api.patch(`${SET}(obx_messageid='exists')`, { obx_attempts: 5 }, { headers: { 'If-None-Match': '*' } });
    expect(noUpdate.status).toBe(412);
    expect((noUpdate.json['error'] as { code: string }).code).toBe('0x80040237');
  });

  test('DELETE removes the row; with a stale ETag it is 412; a second delete is 404', async () => {
    const id = await api.create(SET, outboxRow('del-1'));
    const stale = await api.delete(`${SET}(${id})`, { headers: { 'If-Match': 'W/"1"' } });
    expect(stale.status).toBe(412);
    expect((await api.delete(`${SET}(${id})`)).status).toBe(204);
    expect((await api.delete(`${SET}(${id})`)).status).toBe(404);
  });

  test('a choice value outside the option set is 400 0x8004431A', async () => {
    const id = await api.create(SET, outboxRow('choice-1'));
    const res = await api.patch(`${SET}(${id})`, { obx_status: 1 });
    expect(res.status).toBe(400);
    expect((res.json['error'] as { code: string }).code).toBe('0x8004431A');
  });
});

describe('system tables', () => {
  test('environment variable definitions with their values through $expand; the value row wins', async () => {
    const defs = await api.rows(
      'environmentvariabledefinitions',
      "$select=schemaname,defaultvalue,type&$filter=schemaname eq 'obx_BatchSize'&$expand=environmentvariabledefinition_environmentvariablevalue($select=value)",
    );
    expect(defs).toHaveLength(1);
    const def = defs[0] as Record<string, unknown>;
    expect(def['defaultvalue']).toBe('100');
    expect(def['environmentvariabledefinition_environmentvariablevalue']).toEqual([]);
    await api.create('environmentvariablevalues', {
      schemaname: 'obx_BatchSize',
      value: '250',
      'EnvironmentVariableDefinitionId@odata.bind': `/environmentvariabledefinitions(${String(def['environmentvariabledefinitionid'])})`,
    });
    const again = await api.rows(
      'environmentvariabledefinitions',
      "$select=schemaname&$filter=schemaname eq 'obx_BatchSize'&$expand=environmentvariabledefinition_environmentvariablevalue($select=value)",
    );
    const values = (again[0] as Record<string, unknown>)['environmentvariabledefinition_environmentvariablevalue'] as Record<string, unknown>[];
    expect(values.map((v) => v['value'])).toEqual(['250']);
  });

  test('a deploy script can create an application user and assign a role through systemuserroles_association/$ref', async () => {
    const roles = await api.rows('roles', "$select=name&$filter=name eq 'Outbox Publisher'");
    expect(roles).toHaveLength(1);
    const roleId = String((roles[0] as Record<string, unknown>)['roleid']);
    const bu = (await api.rows('businessunits', '$select=name'))[0] as Record<string, unknown>;
    const userId = await api.create('systemusers', {
      applicationid: '22222222-3333-4444-8555-666666666666',
      'businessunitid@odata.bind': `/businessunits(${String(bu['businessunitid'])})`,
    });
    const assoc = await api.post(`systemusers(${userId})/systemuserroles_association/$ref`, { '@odata.id': `${emulator.apiUrl}roles(${roleId})` });
    expect(assoc.status).toBe(204);
    const again = await api.post(`systemusers(${userId})/systemuserroles_association/$ref`, { '@odata.id': `${emulator.apiUrl}roles(${roleId})` });
    expect(again.status).toBe(412);
    const assigned = await api.get(`systemusers(${userId})/systemuserroles_association?$select=name`);
    expect((assigned.json['value'] as Record<string, unknown>[]).map((r) => r['name'])).toEqual(['Outbox Publisher']);
    const removed = await api.delete(`systemusers(${userId})/systemuserroles_association(${roleId})/$ref`);
    expect(removed.status).toBe(204);
    // The application user is who a token with its appid is.
    const jwt = `e30.${Buffer.from(JSON.stringify({ appid: '22222222-3333-4444-8555-666666666666' })).toString('base64url')}.sig`;
    const who = await api.get('WhoAmI', { token: jwt });
    expect(who.json['UserId']).toBe(userId);
  });

  test('WinOpportunity closes an open opportunity as won', async () => {
    const accountId = await api.create('accounts', { name: 'Contoso' });
    const oppId = await api.create('opportunities', { name: 'Deal', estimatedvalue: 1000, 'parentaccountid@odata.bind': `/accounts(${accountId})` });
    const res = await api.post('WinOpportunity', { Status: 3, OpportunityClose: { subject: 'won', 'opportunityid@odata.bind': `/opportunities(${oppId})` } });
    expect(res.status).toBe(204);
    const opp = await api.get(`opportunities(${oppId})?$select=statecode,statuscode,actualvalue,_parentaccountid_value`);
    expect(opp.json).toMatchObject({ statecode: 1, statuscode: 3, actualvalue: 1000, _parentaccountid_value: accountId });
    const twice = await api.post('WinOpportunity', { Status: 3, OpportunityClose: { 'opportunityid@odata.bind': `/opportunities(${oppId})` } });
    expect(twice.status).toBe(400);
  });
});
