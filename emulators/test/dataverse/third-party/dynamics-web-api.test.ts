// Conformance through npm `dynamics-web-api` 2.5 (a widely used Dataverse client nobody here wrote), against the
// emulator over a real socket: what a Dataverse integration does with it, each case checked against what Dataverse
// answers (Microsoft Learn pages named per block).
import { DynamicsWebApi } from 'dynamics-web-api';
import { OutboxMessage } from '@dataverse-outbox/contract';
import type { DataverseEmulator } from '@dataverse-outbox/emulators/dataverse';
import { startEmulator, outboxRow, type WebApi } from '../support';

const SET = OutboxMessage.entitySetName;
let emulator: DataverseEmulator;
let api: WebApi;
let dwa: DynamicsWebApi;

/** What dynamics-web-api rejects with: the parsed Dataverse error plus the HTTP status. */
interface DwaError {
  status?: number;
  code?: string;
  message?: string;
}

async function rejectionOf(p: Promise<unknown>): Promise<DwaError> {
  try {
    await p;
  } catch (e) {
    return e as DwaError;
  }
  throw new Error('expected the call to be rejected');
}

function client(extra: ConstructorParameters<typeof DynamicsWebApi>[0] = {}): DynamicsWebApi {
  return new DynamicsWebApi({ serverUrl: emulator.url, dataApi: { version: '9.2' }, onTokenRefresh: async () => 'dynamics-web-api-user', ...extra });
}

beforeAll(async () => {
  ({ emulator, api } = await startEmulator());
  dwa = client();
});
afterAll(async () => {
  await emulator.close();
});

describe('create, retrieve, update, delete (Microsoft Learn: "Create / Retrieve / Update and delete a table row")', () => {
  test('create returns the new id; retrieve with select reads it back', async () => {
    const id = await dwa.create<Record<string, unknown>, string>({ collection: 'accounts', data: { name: 'DWA Contoso', numberofemployees: 12 } });
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    const row = await dwa.retrieve<Record<string, unknown>>({ collection: 'accounts', key: id, select: ['name', 'numberofemployees'] });
    expect(row['name']).toBe('DWA Contoso');
    expect(row['numberofemployees']).toBe(12);
    expect(row['@odata.etag']).toMatch(/^W\/"\d+"$/);
  });

  test('create with returnRepresentation answers the row (201) with the selected columns', async () => {
    const row = await dwa.create<Record<string, unknown>, Record<string, unknown>>({ collection: 'accounts', data: { name: 'DWA Rep' }, returnRepresentation: true, select: ['name'] });
    expect(row['name']).toBe('DWA Rep');
    expect(row['accountid']).toMatch(/^[0-9a-f-]{36}$/);
  });

  test('update changes a column; updateSingleProperty sets one value', async () => {
    const id = await dwa.create<Record<string, unknown>, string>({ collection: 'accounts', data: { name: 'DWA Update' } });
    await dwa.update({ collection: 'accounts', key: id, data: { telephone1: '555-0100' } });
    await dwa.updateSingleProperty({ collection: 'accounts', key: id, fieldValuePair: { address1_city: 'Redmond' } });
    const row = await dwa.retrieve<Record<string, unknown>>({ collection: 'accounts', key: id, select: ['telephone1', 'address1_city'] });
    expect([row['telephone1'], row['address1_city']]).toEqual(['555-0100', 'Redmond']);
  });

  test('update of a row that does not exist is refused with 404 (update never creates: If-Match *)', async () => {
    const e = await rejectionOf(dwa.update({ collection: 'accounts', key: '00000000-0000-0000-0000-00000000d001', data: { name: 'ghost' } }));
    expect(e.status).toBe(404);
    expect(e.code).toBe('0x80040217');
  });

  test('deleteRecord removes the row; retrieving it afterwards is a 404 with Dataverse\'s code', async () => {
    const id = await dwa.create<Record<string, unknown>, string>({ collection: 'accounts', data: { name: 'DWA Delete' } });
    await dwa.deleteRecord({ collection: 'accounts', key: id });
    const e = await rejectionOf(dwa.retrieve({ collection: 'accounts', key: id }));
    expect(e.status).toBe(404);
    expect(e.code).toBe('0x80040217');
  });

  test('a lookup is set with @odata.bind and read back as _x_value; expand returns the related row', async () => {
    const parent = await dwa.create<Record<string, unknown>, string>({ collection: 'accounts', data: { name: 'DWA Parent' } });
    const child = await dwa.create<Record<string, unknown>, string>({ collection: 'contacts', data: { firstname: 'Ada', lastname: 'Lovelace', 'parentcustomerid_account@odata.bind': `/accounts(${parent})` } });
    const row = await dwa.retrieve<Record<string, unknown>>({ collection: 'contacts', key: child, select: ['fullname', '_parentcustomerid_value'], expand: [{ property: 'parentcustomerid_account', select: ['name'] }] });
    expect(row['_parentcustomerid_value']).toBe(parent);
    expect((row['parentcustomerid_account'] as Record<string, unknown>)['name']).toBe('DWA Parent');
    expect(row['fullname']).toBe('Ada Lovelace');
  });

  test('associate and disassociateSingleValued set and clear a lookup through its navigation property', async () => {
    const parent = await dwa.create<Record<string, unknown>, string>({ collection: 'accounts', data: { name: 'DWA Assoc Parent' } });
    const child = await dwa.create<Record<string, unknown>, string>({ collection: 'accounts', data: { name: 'DWA Assoc Child' } });
    await dwa.associateSingleValued({ collection: 'accounts', primaryKey: child, navigationProperty: 'parentaccountid', relatedCollection: 'accounts', relatedKey: parent });
    expect((await dwa.retrieve<Record<string, unknown>>({ collection: 'accounts', key: child, select: ['_parentaccountid_value'] }))['_parentaccountid_value']).toBe(parent);
    await dwa.disassociateSingleValued({ collection: 'accounts', primaryKey: child, navigationProperty: 'parentaccountid' });
    expect((await dwa.retrieve<Record<string, unknown>>({ collection: 'accounts', key: child, select: ['_parentaccountid_value'] }))['_parentaccountid_value']).toBeNull();
  });

  test('an unknown column is refused with 400 0x80048d19 naming it', async () => {
    const e = await rejectionOf(dwa.create({ collection: 'accounts', data: { name: 'x', nosuchcolumn: 1 } }));
    expect(e.status).toBe(400);
    expect(e.code).toBe('0x80048d19');
    expect(e.message).toContain('nosuchcolumn');
  });

  test('a value longer than the column allows is refused with 0x80044331', async () => {
    const e = await rejectionOf(dwa.create({ collection: 'accounts', data: { name: 'x'.repeat(161) } }));
    expect(e.status).toBe(400);
    expect(e.code).toBe('0x80044331');
  });
});

describe('upsert by alternate key (Microsoft Learn: "Use Upsert to Create or Update a record")', () => {
  const key = (id: string): string => `obx_messageid='${id}'`;

  test('upsert creates the row when the key is new, then updates the same row', async () => {
    await dwa.upsert({ collection: SET, key: key('dwa-upsert-1'), data: outboxRow('dwa-upsert-1') });
    await dwa.upsert({ collection: SET, key: key('dwa-upsert-1'), data: { obx_target: 'invoices' } });
    const rows = await api.rows(SET, "$filter=obx_messageid eq 'dwa-upsert-1'");
    expect(rows).toHaveLength(1);
    expect(rows[0]?.['obx_target']).toBe('invoices');
  });

  test('retrieve by alternate key', async () => {
    await dwa.upsert({ collection: SET, key: key('dwa-by-key'), data: outboxRow('dwa-by-key') });
    const row = await dwa.retrieve<Record<string, unknown>>({ collection: SET, key: key('dwa-by-key'), select: ['obx_messageid', 'obx_target'] });
    expect(row['obx_messageid']).toBe('dwa-by-key');
  });

  test('upsert with ifnonematch "*" (create only) on an existing row: 412, which the client answers as null; the row is unchanged', async () => {
    await dwa.upsert({ collection: SET, key: key('dwa-create-only'), data: outboxRow('dwa-create-only') });
    expect(await dwa.upsert({ collection: SET, key: key('dwa-create-only'), data: { obx_target: 'x' }, ifnonematch: '*' })).toBeNull();
    expect((await api.rows(SET, "$filter=obx_messageid eq 'dwa-create-only'"))[0]?.['obx_target']).toBe('orders');
    const raw = await api.patch(`${SET}(${key('dwa-create-only')})`, { obx_target: 'x' }, { headers: { 'If-None-Match': '*' } });
    expect(raw.status).toBe(412);
  });

  test('upsert with ifmatch "*" (update only) on a missing row: 404, which the client answers as null; nothing is created', async () => {
    expect(await dwa.upsert({ collection: SET, key: key('dwa-update-only'), data: outboxRow('dwa-update-only'), ifmatch: '*' })).toBeNull();
    expect(await api.rows(SET, "$filter=obx_messageid eq 'dwa-update-only'")).toHaveLength(0);
  });

  test('creating a second row with a taken alternate key is refused with 412 0x80040237', async () => {
    await dwa.create({ collection: SET, data: outboxRow('dwa-dup') });
    const e = await rejectionOf(dwa.create({ collection: SET, data: outboxRow('dwa-dup') }));
    expect(e.status).toBe(412);
    expect(e.code).toBe('0x80040237');
  });
});

describe('query options (Microsoft Learn: "Query data using the Web API")', () => {
  beforeAll(async () => {
    for (let i = 0; i < 7; i++) await api.create('accounts', { name: `DWA Query ${i}`, numberofemployees: i * 10, address1_city: i % 2 ? 'Oslo' : 'Lima' });
  });

  test('retrieveMultiple with filter, orderBy, top and select', async () => {
    const res = await dwa.retrieveMultiple<Record<string, unknown>>({ collection: 'accounts', select: ['name', 'numberofemployees'], filter: "startswith(name,'DWA Query') and numberofemployees ge 20", orderBy: ['numberofemployees desc'], top: 3 });
    expect(res.value.map((r) => r['numberofemployees'])).toEqual([60, 50, 40]);
  });

  test('a filter with a quoted space and Microsoft.Dynamics.CRM.In', async () => {
    const res = await dwa.retrieveMultiple<Record<string, unknown>>({ collection: 'accounts', select: ['name'], filter: "Microsoft.Dynamics.CRM.In(PropertyName='name',PropertyValues=['DWA Query 1','DWA Query 2'])" });
    expect(res.value.map((r) => r['name']).sort()).toEqual(['DWA Query 1', 'DWA Query 2']);
  });

  test('retrieveAll follows @odata.nextLink with maxPageSize and returns every row once', async () => {
    const res = await dwa.retrieveAll<Record<string, unknown>>({ collection: 'accounts', select: ['name'], filter: "startswith(name,'DWA Query')", maxPageSize: 2 });
    expect(res.value.map((r) => r['name']).sort()).toEqual(Array.from({ length: 7 }, (_, i) => `DWA Query ${i}`));
  });

  test('count with a filter uses $count', async () => {
    expect(await dwa.count({ collection: 'accounts', filter: "address1_city eq 'Oslo' and startswith(name,'DWA Query')" })).toBe(3);
  });

  test('countAll counts every page', async () => {
    expect(await dwa.countAll({ collection: 'accounts', filter: "startswith(name,'DWA Query')", select: ['name'] })).toBe(7);
  });

  test('$skip is refused as Dataverse does (use paging instead)', async () => {
    const e = await rejectionOf(api.get('accounts?$skip=1').then((r) => (r.status === 200 ? 'ok' : Promise.reject({ status: r.status }))));
    expect(e.status).toBe(400);
  });

  test('an unknown property in $filter is a 400 0x80060888 "Could not find a property named"', async () => {
    const e = await rejectionOf(dwa.retrieveMultiple({ collection: 'accounts', filter: 'nosuch eq 1' }));
    expect(e.status).toBe(400);
    expect(e.code).toBe('0x80060888');
    expect(e.message).toContain("Could not find a property named 'nosuch'");
  });
});

describe('formatted values and lookup annotations (Microsoft Learn: "Formatted values", "Lookup property data")', () => {
  let accountId: string;
  let contactId: string;
  beforeAll(async () => {
    accountId = await api.create('accounts', { name: 'DWA Annotated', revenue: 1234.5, numberofemployees: 1500, creditonhold: true, industrycode: 1 });
    contactId = await api.create('contacts', { firstname: 'Grace', lastname: 'Hopper', birthdate: '1906-12-09T00:00:00Z', 'parentcustomerid_account@odata.bind': `/accounts(${accountId})` });
  });

  test('choices, booleans, money and whole numbers get FormattedValue, read through dynamics-web-api\'s @_ shortcuts', async () => {
    const row = await dwa.retrieve<Record<string, unknown>>({ collection: 'accounts', key: accountId, select: ['revenue', 'numberofemployees', 'creditonhold', 'industrycode'], includeAnnotations: 'OData.Community.Display.V1.FormattedValue' });
    expect(row['revenue@OData.Community.Display.V1.FormattedValue']).toBe('$1,234.50');
    expect(row['numberofemployees@OData.Community.Display.V1.FormattedValue']).toBe('1,500');
    expect(row['creditonhold@OData.Community.Display.V1.FormattedValue']).toBe('Yes');
    expect(typeof row['industrycode@OData.Community.Display.V1.FormattedValue']).toBe('string');
    expect(row['revenue_Formatted']).toBe('$1,234.50');
  });

  test('a lookup gets its primary name as FormattedValue plus associatednavigationproperty and lookuplogicalname ("*")', async () => {
    const row = await dwa.retrieve<Record<string, unknown>>({ collection: 'contacts', key: contactId, select: ['_parentcustomerid_value', 'birthdate'], includeAnnotations: '*' });
    expect(row['_parentcustomerid_value@OData.Community.Display.V1.FormattedValue']).toBe('DWA Annotated');
    expect(row['_parentcustomerid_value@Microsoft.Dynamics.CRM.associatednavigationproperty']).toBe('parentcustomerid_account');
    expect(row['_parentcustomerid_value@Microsoft.Dynamics.CRM.lookuplogicalname']).toBe('account');
    expect(row['_parentcustomerid_value_LogicalName']).toBe('account');
    expect(row['_parentcustomerid_value_NavigationProperty']).toBe('parentcustomerid_account');
  });

  test('a date gets a FormattedValue (en-US, UTC)', async () => {
    const row = await dwa.retrieve<Record<string, unknown>>({ collection: 'contacts', key: contactId, select: ['birthdate'], includeAnnotations: 'OData.Community.Display.V1.FormattedValue' });
    expect(row['birthdate@OData.Community.Display.V1.FormattedValue']).toBe('12/9/1906 12:00 AM');
  });

  test('createdby (a system lookup) is named after the calling user', async () => {
    const row = await dwa.retrieve<Record<string, unknown>>({ collection: 'accounts', key: accountId, select: ['_createdby_value'], includeAnnotations: '*' });
    expect(row['_createdby_value@Microsoft.Dynamics.CRM.lookuplogicalname']).toBe('systemuser');
    expect(typeof row['_createdby_value@OData.Community.Display.V1.FormattedValue']).toBe('string');
  });

  test('without the Prefer header no annotation is sent', async () => {
    const row = await dwa.retrieve<Record<string, unknown>>({ collection: 'accounts', key: accountId, select: ['revenue'] });
    expect(Object.keys(row).filter((k) => k.includes('@OData.Community'))).toEqual([]);
  });
});

describe('ETags (Microsoft Learn: "Perform conditional operations using the Web API")', () => {
  test('retrieve with ifnonematch of the current ETag resolves without a body (304)', async () => {
    const id = await api.create('accounts', { name: 'DWA 304' });
    const row = await dwa.retrieve<Record<string, unknown>>({ collection: 'accounts', key: id, select: ['name'] });
    const again = await dwa.retrieve<Record<string, unknown> | null>({ collection: 'accounts', key: id, select: ['name'], ifnonematch: String(row['@odata.etag']) });
    // dynamics-web-api resolves a 304 with no data; a 200 would have given the row.
    expect(again ?? null).toBeNull();
  });

  test('no 304 when annotations are asked for: Dataverse always sends the row then', async () => {
    const id = await api.create('accounts', { name: 'DWA no 304' });
    const row = await dwa.retrieve<Record<string, unknown>>({ collection: 'accounts', key: id, select: ['name'] });
    const again = await dwa.retrieve<Record<string, unknown>>({ collection: 'accounts', key: id, select: ['name'], ifnonematch: String(row['@odata.etag']), includeAnnotations: '*' });
    expect(again['name']).toBe('DWA no 304');
  });

  test('no 304 with $expand either', async () => {
    const id = await api.create('accounts', { name: 'DWA expand no 304' });
    const row = await dwa.retrieve<Record<string, unknown>>({ collection: 'accounts', key: id, select: ['name'] });
    const again = await dwa.retrieve<Record<string, unknown>>({ collection: 'accounts', key: id, select: ['name'], expand: [{ property: 'parentaccountid', select: ['name'] }], ifnonematch: String(row['@odata.etag']) });
    expect(again['name']).toBe('DWA expand no 304');
  });

  test('update with a stale ifmatch: 412, which the client answers as false; nothing changes', async () => {
    const id = await api.create('accounts', { name: 'DWA etag' });
    const row = await dwa.retrieve<Record<string, unknown>>({ collection: 'accounts', key: id, select: ['name'] });
    await dwa.update({ collection: 'accounts', key: id, data: { name: 'DWA etag 2' } });
    expect(await dwa.update({ collection: 'accounts', key: id, data: { name: 'DWA etag 3' }, ifmatch: String(row['@odata.etag']) })).toBe(false);
    const strict = client({ propagateErrors: true });
    const e = await rejectionOf(strict.update({ collection: 'accounts', key: id, data: { name: 'DWA etag 3' }, ifmatch: String(row['@odata.etag']) }));
    expect(e.status).toBe(412);
    expect(e.code).toBe('0x80060882');
    expect((await dwa.retrieve<Record<string, unknown>>({ collection: 'accounts', key: id, select: ['name'] }))['name']).toBe('DWA etag 2');
  });

  test('deleteRecord with the current ifmatch succeeds', async () => {
    const id = await api.create('accounts', { name: 'DWA etag delete' });
    const row = await dwa.retrieve<Record<string, unknown>>({ collection: 'accounts', key: id, select: ['name'] });
    await dwa.deleteRecord({ collection: 'accounts', key: id, ifmatch: String(row['@odata.etag']) });
    expect(await api.rows('accounts', `$filter=accountid eq ${id}`)).toHaveLength(0);
  });
});

describe('FetchXML with paging (Microsoft Learn: "Page results using FetchXml")', () => {
  beforeAll(async () => {
    for (let i = 0; i < 5; i++) await api.create('accounts', { name: `DWA Fetch ${i}` });
  });
  const fetchXml = `<fetch count="2"><entity name="account"><attribute name="name" /><filter><condition attribute="name" operator="like" value="DWA Fetch %" /></filter><order attribute="name" /></entity></fetch>`;

  test('fetch returns the first page with a paging cookie that decodes (twice URL-encoded) to page 1', async () => {
    const res = await dwa.fetch<Record<string, unknown>>({ collection: 'accounts', fetchXml, pageNumber: 1 });
    expect(res.value.map((r) => r['name'])).toEqual(['DWA Fetch 0', 'DWA Fetch 1']);
    expect(res.PagingInfo?.nextPage).toBe(2);
    expect(res.PagingInfo?.cookie).toContain('&lt;cookie page=&quot;1&quot;&gt;');
  });

  test('fetchAll follows the paging cookie to the last page, every row once', async () => {
    const res = await dwa.fetchAll<Record<string, unknown>>({ collection: 'accounts', fetchXml });
    expect(res.value.map((r) => r['name'])).toEqual(Array.from({ length: 5 }, (_, i) => `DWA Fetch ${i}`));
  });

  test('an aggregate count', async () => {
    const res = await dwa.fetch<Record<string, unknown>>({ collection: 'accounts', fetchXml: `<fetch aggregate="true"><entity name="account"><attribute name="accountid" alias="n" aggregate="count" /><filter><condition attribute="name" operator="like" value="DWA Fetch %" /></filter></entity></fetch>` });
    expect(res.value[0]?.['n']).toBe(5);
  });
});

describe('$batch (Microsoft Learn: "Execute batch operations using the Web API")', () => {
  test('a change set of creates commits together; the responses carry the new ids', async () => {
    dwa.startBatch();
    dwa.create({ collection: 'accounts', data: { name: 'DWA Batch A' } });
    dwa.create({ collection: SET, data: outboxRow('dwa-batch-ok') });
    const results = await dwa.executeBatch();
    expect(results).toHaveLength(2);
    expect(await api.rows('accounts', "$filter=name eq 'DWA Batch A'")).toHaveLength(1);
    expect(await api.rows(SET, "$filter=obx_messageid eq 'dwa-batch-ok'")).toHaveLength(1);
  });

  test('a failing change set without continue-on-error rejects (400 for the whole batch) with the inner error, and nothing is written', async () => {
    await api.create(SET, outboxRow('dwa-batch-taken'));
    dwa.startBatch();
    dwa.create({ collection: 'accounts', data: { name: 'DWA Batch Ghost' } });
    dwa.create({ collection: SET, data: outboxRow('dwa-batch-taken') });
    const e = await rejectionOf(dwa.executeBatch());
    // The client rejects with the parsed parts of the 400 batch: the failing request's status and Dataverse error.
    expect(Array.isArray(e)).toBe(true);
    const inner = (e as unknown as { status: number; error: DwaError }[])[0];
    expect(inner?.status).toBe(412);
    expect(inner?.error.code).toBe('0x80040237');
    expect(await api.rows('accounts', "$filter=name eq 'DWA Batch Ghost'")).toHaveLength(0);
  });

  test('with continueOnError the batch resolves (200) and the failure is one of the results', async () => {
    dwa.startBatch();
    dwa.retrieveMultiple({ collection: 'accounts', select: ['name'], top: 1 });
    dwa.retrieve({ collection: 'accounts', key: '00000000-0000-0000-0000-00000000d404' });
    dwa.retrieveMultiple({ collection: 'accounts', select: ['name'], top: 1 });
    const results = await dwa.executeBatch({ continueOnError: true });
    expect(results).toHaveLength(3);
    expect((results[1] as DwaError).status).toBe(404);
    expect(Array.isArray((results[2] as { value?: unknown[] }).value)).toBe(true);
  });

  test('a failing change set with continueOnError resolves (200): the change set answers with its failure alone, nothing of it written', async () => {
    await api.create(SET, outboxRow('dwa-batch-taken-2'));
    dwa.startBatch();
    dwa.create({ collection: 'accounts', data: { name: 'DWA Batch Ghost 2' } });
    dwa.create({ collection: SET, data: outboxRow('dwa-batch-taken-2') });
    const results = await dwa.executeBatch({ continueOnError: true });
    expect(results).toHaveLength(1);
    expect((results[0] as { status?: number }).status).toBe(412);
    expect(await api.rows('accounts', "$filter=name eq 'DWA Batch Ghost 2'")).toHaveLength(0);
  });

  test('without continueOnError a failing GET stops the batch: the later request does not run', async () => {
    const res = await api.request('POST', '$batch', {
      headers: { 'Content-Type': 'multipart/mixed; boundary=batch_stop' },
      rawBody: [
        '--batch_stop',
        'Content-Type: application/http',
        'Content-Transfer-Encoding: binary',
        '',
        `GET ${emulator.apiUrl}accounts(00000000-0000-0000-0000-00000000d405) HTTP/1.1`,
        '',
        '--batch_stop',
        'Content-Type: application/http',
        'Content-Transfer-Encoding: binary',
        '',
        `GET ${emulator.apiUrl}accounts?$top=1 HTTP/1.1`,
        '',
        '--batch_stop--',
        '',
      ].join('\r\n'),
    });
    expect(res.status).toBe(400);
    expect(res.text.match(/HTTP\/1\.1 \d{3}/g)).toEqual(['HTTP/1.1 404']);
  });

  test('a contentId reference ($1) binds a row created earlier in the change set', async () => {
    dwa.startBatch();
    dwa.create({ collection: 'accounts', data: { name: 'DWA Ref Parent' }, contentId: '1' });
    dwa.create({ collection: 'contacts', data: { lastname: 'DWA Ref Child', 'parentcustomerid_account@odata.bind': '$1' } });
    await dwa.executeBatch();
    const [parent] = await api.rows('accounts', "$filter=name eq 'DWA Ref Parent'");
    const [child] = await api.rows('contacts', "$filter=lastname eq 'DWA Ref Child'");
    expect(child?.['_parentcustomerid_value']).toBe(parent?.['accountid']);
  });
});

describe('metadata (Microsoft Learn: "Query table definitions using the Web API")', () => {
  test('useEntityNames: the client maps logical names to entity set names through EntityDefinitions', async () => {
    const named = client({ useEntityNames: true });
    const id = await named.create<Record<string, unknown>, string>({ collection: 'obx_outboxmessage', data: outboxRow('dwa-entity-names') });
    const row = await named.retrieve<Record<string, unknown>>({ collection: 'obx_outboxmessage', key: id, select: ['obx_messageid'] });
    expect(row['obx_messageid']).toBe('dwa-entity-names');
    const contacts = await named.retrieveMultiple({ collection: 'contact', top: 1 });
    expect(Array.isArray(contacts.value)).toBe(true);
  });

  test('retrieveEntity by LogicalName: entity set name, primary id and primary name of the solution\'s table', async () => {
    const def = await dwa.retrieveEntity<Record<string, unknown>>({ key: `LogicalName='${OutboxMessage.logicalName}'`, select: ['LogicalName', 'EntitySetName', 'PrimaryIdAttribute', 'PrimaryNameAttribute', 'ChangeTrackingEnabled', 'IsOptimisticConcurrencyEnabled'] });
    expect(def).toMatchObject({ LogicalName: OutboxMessage.logicalName, EntitySetName: SET, PrimaryIdAttribute: 'obx_outboxmessageid', PrimaryNameAttribute: 'obx_name', IsOptimisticConcurrencyEnabled: true });
    expect(typeof def['ChangeTrackingEnabled']).toBe('boolean');
    expect(def['Keys']).toBeUndefined(); // $select keeps only what was asked (and MetadataId)
    const byId = await dwa.retrieveEntity<Record<string, unknown>>({ key: String(def['MetadataId']), select: ['LogicalName'] });
    expect(byId['LogicalName']).toBe(OutboxMessage.logicalName);
  });

  test('retrieveEntities with a LogicalName filter', async () => {
    const res = await dwa.retrieveEntities<Record<string, unknown>>({ select: ['LogicalName', 'EntitySetName'], filter: "LogicalName eq 'account' or LogicalName eq 'contact'" });
    expect(res.value.map((d) => d['EntitySetName']).sort()).toEqual(['accounts', 'contacts']);
    const quoted = await dwa.retrieveEntities<Record<string, unknown>>({ select: ['LogicalName'], filter: "LogicalName eq 'a or b' or LogicalName eq 'account'" });
    expect(quoted.value.map((d) => d['LogicalName'])).toEqual(['account']);
  });

  test('retrieveAttributes lists the columns with their types; a cast keeps only choices', async () => {
    const all = await dwa.retrieveAttributes<Record<string, unknown>>({ entityKey: `LogicalName='${OutboxMessage.logicalName}'`, select: ['LogicalName', 'AttributeType'] });
    const types = new Map(all.value.map((a) => [a['LogicalName'], a['AttributeType']]));
    expect(types.get('obx_payload')).toBe('Memo');
    expect(types.get('obx_messageid')).toBe('String');
    expect(types.get('obx_outboxmessageid')).toBe('Uniqueidentifier');
    expect(types.get('createdon')).toBe('DateTime');
    const picklists = await dwa.retrieveAttributes<Record<string, unknown>>({ entityKey: `LogicalName='${OutboxMessage.logicalName}'`, castType: 'Microsoft.Dynamics.CRM.PicklistAttributeMetadata', select: ['LogicalName'] });
    expect(picklists.value.length).toBeGreaterThan(0);
    expect(picklists.value.every((a) => a['@odata.type'] === '#Microsoft.Dynamics.CRM.PicklistAttributeMetadata')).toBe(true);
  });

  test('retrieveAttribute by LogicalName: a lookup names its target', async () => {
    const a = await dwa.retrieveAttribute<Record<string, unknown>>({ entityKey: "LogicalName='contact'", attributeKey: "LogicalName='parentcustomerid'" });
    expect(a).toMatchObject({ LogicalName: 'parentcustomerid', AttributeType: 'Lookup', Targets: ['account'] });
  });

  test('an unknown table definition is a 404', async () => {
    const e = await rejectionOf(dwa.retrieveEntity({ key: "LogicalName='nosuchtable'" }));
    expect(e.status).toBe(404);
  });

  test('metadata is read-only: creating a table is refused with a clear 400', async () => {
    const e = await rejectionOf(dwa.createEntity({ data: { SchemaName: 'new_thing' } }));
    expect(e.status).toBe(400);
    expect(e.message).toContain('read-only');
  });
});

describe('actions and functions, errors', () => {
  test('callFunction WhoAmI answers the caller\'s UserId', async () => {
    const res = await dwa.callFunction<Record<string, unknown>>({ name: 'WhoAmI' });
    expect(res['UserId']).toMatch(/^[0-9a-f-]{36}$/);
  });

  test('an unknown entity set is a 404 with the segment named', async () => {
    const e = await rejectionOf(dwa.retrieveMultiple({ collection: 'nosuchsets' }));
    expect(e.status).toBe(404);
    expect(e.message).toContain('nosuchsets');
  });
});
