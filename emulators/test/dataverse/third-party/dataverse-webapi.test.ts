// Conformance through npm `dataverse-webapi` 3.3 (Derek Finlinson's Web API module, used by many PCF and Node tools),
// against the emulator's HTTPS mode with its generated certificate (the library only speaks HTTPS on port 443; see
// ./dataverseWebApi.ts for how it is pointed at the emulator without changing it).
import { OutboxMessage } from '@dataverse-outbox/contract';
import type { DataverseEmulator } from '@dataverse-outbox/emulators/dataverse';
import { startEmulator, outboxRow as outboxRecord } from '../support';
import { loadDataverseWebApi, routeHttpsToEmulator } from './dataverseWebApi';

const dvw = loadDataverseWebApi();
type Entity = Parameters<typeof dvw.create>[2];
const outboxRow = (messageId: string): Entity => outboxRecord(messageId) as Entity;
const SET = OutboxMessage.entitySetName;
let emulator: DataverseEmulator;
let config: InstanceType<typeof dvw.WebApiConfig>;
let restore: () => void;

/** dataverse-webapi rejects with Dataverse's `error` object ({code, message}). */
interface DvwError {
  code?: string;
  message?: string;
}

async function rejectionOf(p: Promise<unknown>): Promise<DvwError> {
  try {
    await p;
  } catch (e) {
    return e as DvwError;
  }
  throw new Error('expected the call to be rejected');
}

// Checks go through the library too (Node's fetch would not trust the emulator's self-signed certificate).
const api = {
  rows: async (set: string, query: string): Promise<Record<string, unknown>[]> => (await dvw.retrieveMultiple(config, set, query)).value as Record<string, unknown>[],
  create: (set: string, body: Entity): Promise<string> => dvw.create(config, set, body),
};

beforeAll(async () => {
  ({ emulator } = await startEmulator({ https: 'generate' }));
  restore = routeHttpsToEmulator(emulator.port, emulator.certificate as string);
});
// The URL a real environment would have: https on the default port. A fresh config per test: the library's
// retrieveMultipleNextPage overwrites the config's url with the nextLink.
beforeEach(() => {
  config = new dvw.WebApiConfig('9.2', 'dataverse-webapi-user', 'https://127.0.0.1');
});
afterAll(async () => {
  restore();
  await emulator.close();
});

test('the emulator serves HTTPS with the generated certificate, reached on "port 443" through the routed agent', async () => {
  expect(emulator.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
  const who = (await dvw.unboundFunction(config, 'WhoAmI')) as Record<string, unknown>;
  expect(who['UserId']).toMatch(/^[0-9a-f-]{36}$/);
});

test('create returns the id from OData-EntityId; retrieve with $select reads the row', async () => {
  const id = await dvw.create(config, 'accounts', { name: 'DVW Contoso', numberofemployees: 7 });
  expect(id).toMatch(/^[0-9a-f-]{36}$/);
  const row = await dvw.retrieve(config, 'accounts', id, '$select=name,numberofemployees');
  expect([row['name'], row['numberofemployees']]).toEqual(['DVW Contoso', 7]);
});

test('createWithReturnData answers the row (return=representation)', async () => {
  const row = await dvw.createWithReturnData(config, 'accounts', { name: 'DVW Rep' }, '$select=name');
  expect(row['name']).toBe('DVW Rep');
});

test('update and updateWithReturnData change the row; updateProperty sets one column; deleteProperty clears it', async () => {
  const id = await dvw.create(config, 'accounts', { name: 'DVW Update' });
  await dvw.update(config, 'accounts', id, { telephone1: '555-0101' });
  const row = await dvw.updateWithReturnData(config, 'accounts', id, { address1_city: 'Bergen' }, '$select=telephone1,address1_city');
  expect([row['telephone1'], row['address1_city']]).toEqual(['555-0101', 'Bergen']);
  await dvw.updateProperty(config, 'accounts', id, 'websiteurl', 'https://contoso.example');
  expect((await dvw.retrieve(config, 'accounts', id, '$select=websiteurl'))['websiteurl']).toBe('https://contoso.example');
  await dvw.deleteProperty(config, 'accounts', id, 'websiteurl');
  expect((await dvw.retrieve(config, 'accounts', id, '$select=websiteurl'))['websiteurl']).toBeNull();
});

test('deleteRecord removes the row; retrieving it is rejected with 0x80040217', async () => {
  const id = await dvw.create(config, 'accounts', { name: 'DVW Delete' });
  await dvw.deleteRecord(config, 'accounts', id);
  const e = await rejectionOf(dvw.retrieve(config, 'accounts', id));
  expect(e.code).toBe('0x80040217');
});

test('retrieveAlternateKey reads a row by its alternate key', async () => {
  await dvw.create(config, SET, outboxRow('dvw-key'));
  const row = await dvw.retrieveAlternateKey(config, SET, "obx_messageid='dvw-key'", '$select=obx_messageid,obx_target');
  expect(row['obx_messageid']).toBe('dvw-key');
  expect(await api.rows(SET, "$filter=obx_messageid eq 'dvw-key'")).toHaveLength(1);
});

test('a duplicate alternate key is rejected with 0x80040237', async () => {
  await dvw.create(config, SET, outboxRow('dvw-dup'));
  const e = await rejectionOf(dvw.create(config, SET, outboxRow('dvw-dup')));
  expect(e.code).toBe('0x80040237');
});

test('retrieveMultiple with $filter, $orderby and $top; every request carries include-annotations="*", so formatted values come back', async () => {
  for (let i = 0; i < 3; i++) await api.create('accounts', { name: `DVW Query ${i}`, revenue: 1000 * (i + 1) });
  const res = await dvw.retrieveMultiple(config, 'accounts', "$select=name,revenue&$filter=startswith(name,'DVW Query')&$orderby=revenue desc&$top=2");
  expect(res.value.map((r) => r['name'])).toEqual(['DVW Query 2', 'DVW Query 1']);
  expect(res.value[0]?.['revenue@OData.Community.Display.V1.FormattedValue']).toBe('$3,000.00');
});

test('paging with maxPageSize: @odata.nextLink\'s query, passed back to retrieveMultiple, returns every row once', async () => {
  for (let i = 0; i < 5; i++) await api.create('accounts', { name: `DVW Page ${i}` });
  const names: unknown[] = [];
  let page = await dvw.retrieveMultiple(config, 'accounts', "$select=name&$filter=startswith(name,'DVW Page')", { maxPageSize: 2 });
  names.push(...page.value.map((r) => r['name']));
  let pages = 1;
  while (page['@odata.nextLink']) {
    // retrieveMultipleNextPage appends "/" to the nextLink, which corrupts the $skiptoken (see the Fidelity notes).
    page = await dvw.retrieveMultiple(config, 'accounts', new URL(page['@odata.nextLink']).search, { maxPageSize: 2 });
    names.push(...page.value.map((r) => r['name']));
    pages++;
  }
  expect(pages).toBe(3);
  expect(names.sort()).toEqual(Array.from({ length: 5 }, (_, i) => `DVW Page ${i}`));
});

test('a lookup read with annotations: FormattedValue is the related row\'s name, with lookuplogicalname', async () => {
  const parent = await dvw.create(config, 'accounts', { name: 'DVW Parent' });
  const child = await dvw.create(config, 'contacts', { lastname: 'DVW Child', 'parentcustomerid_account@odata.bind': `/accounts(${parent})` });
  const row = await dvw.retrieve(config, 'contacts', child, '$select=_parentcustomerid_value');
  expect(row['_parentcustomerid_value']).toBe(parent);
  expect(row['_parentcustomerid_value@OData.Community.Display.V1.FormattedValue']).toBe('DVW Parent');
  expect(row['_parentcustomerid_value@Microsoft.Dynamics.CRM.lookuplogicalname']).toBe('account');
});

test('associate and disassociate an N:N relationship through $ref (systemuserroles_association)', async () => {
  const who = (await dvw.unboundFunction(config, 'WhoAmI')) as Record<string, string>;
  const role = (await api.rows('roles', "$select=roleid,name&$filter=name eq 'System Administrator'"))[0] as Record<string, string>;
  await dvw.associate(config, 'systemusers', who['UserId'] as string, 'systemuserroles_association', 'roles', role['roleid'] as string);
  const linked = await api.rows(`systemusers(${who['UserId']})/systemuserroles_association`, '$select=name');
  expect(linked.map((r) => r['name'])).toContain('System Administrator');
  await dvw.disassociate(config, 'systemusers', who['UserId'] as string, 'systemuserroles_association', role['roleid']);
  expect((await api.rows(`systemusers(${who['UserId']})/systemuserroles_association`, '$select=name')).map((r) => r['name'])).not.toContain('System Administrator');
});

test('batchOperation: a change set of creates plus GETs whose $filter has spaces (sent unencoded in the request line)', async () => {
  const results = (await dvw.batchOperation(
    config,
    'dvw1',
    'dvwcs1',
    [
      { method: 'POST', queryString: 'accounts', entity: { name: 'DVW Batch A' } },
      { method: 'POST', queryString: SET, entity: outboxRow('dvw-batch-a') },
    ],
    ["accounts?$select=name&$filter=name eq 'DVW Batch A'"],
  )) as { httpStatus?: number; entityId?: string; data?: { value?: Record<string, unknown>[] } }[];
  expect(results.map((r) => r.httpStatus)).toEqual([204, 204, 200]);
  expect(results[0]?.entityId).toMatch(/^[0-9a-f-]{36}$/);
  expect(results[2]?.data?.value?.map((r) => r['name'])).toEqual(['DVW Batch A']);
});

test('batchOperation: a failing change set rejects with the inner error (the batch is 400) and rolls back the change set', async () => {
  await api.create(SET, outboxRow('dvw-batch-taken'));
  const e = await rejectionOf(
    dvw.batchOperation(
      config,
      'dvw2',
      'dvwcs2',
      [
        { method: 'POST', queryString: 'accounts', entity: { name: 'DVW Batch Ghost' } },
        { method: 'POST', queryString: SET, entity: outboxRow('dvw-batch-taken') },
      ],
      [],
    ),
  );
  expect(e.code).toBe('0x80040237');
  expect(await api.rows('accounts', "$filter=name eq 'DVW Batch Ghost'")).toHaveLength(0);
});

test('batchOperation with continue-on-error (customHeaders Prefer) resolves with every result, the failure among them', async () => {
  await api.create(SET, outboxRow('dvw-batch-taken-2'));
  const results = (await dvw.batchOperation(config, 'dvw3', 'dvwcs3', [{ method: 'POST', queryString: SET, entity: outboxRow('dvw-batch-taken-2') }], ['accounts?$select=name&$top=1'], {
    customHeaders: { Prefer: 'odata.continue-on-error' },
  })) as { httpStatus?: number; error?: { error?: DvwError } }[];
  expect(results.map((r) => r.httpStatus)).toEqual([412, 200]);
  expect(results[0]?.error?.error?.code).toBe('0x80040237');
});

test('unboundAction runs an action; an unknown one is rejected with a Dataverse error', async () => {
  const e = await rejectionOf(dvw.unboundAction(config, 'NoSuchAction', {}));
  expect(e.code).toMatch(/^0x/);
});

test('a bad query option is rejected with 0x80060888 and Dataverse\'s message', async () => {
  const e = await rejectionOf(dvw.retrieveMultiple(config, 'accounts', '$filter=nosuch eq 1'));
  expect(e.code).toBe('0x80060888');
  expect(e.message).toContain("Could not find a property named 'nosuch'");
});

test('FetchXML through retrieveMultiple (fetchXml=): the paging cookie is URL-encoded twice, as Dataverse sends it', async () => {
  for (let i = 0; i < 3; i++) await api.create('accounts', { name: `DVW Fetch ${i}` });
  const fetchXml = `<fetch count="2" page="1"><entity name="account"><attribute name="name" /><filter><condition attribute="name" operator="like" value="DVW Fetch %" /></filter><order attribute="name" /></entity></fetch>`;
  const res = (await dvw.retrieveMultiple(config, 'accounts', `fetchXml=${encodeURIComponent(fetchXml)}`)) as unknown as Record<string, unknown> & { value: Record<string, unknown>[] };
  expect(res.value.map((r) => r['name'])).toEqual(['DVW Fetch 0', 'DVW Fetch 1']);
  const cookie = String(res['@Microsoft.Dynamics.CRM.fetchxmlpagingcookie']);
  const inner = /pagingcookie="([^"]+)"/.exec(cookie)?.[1] as string;
  expect(inner).toMatch(/^%253ccookie%2520page%253d%25221%2522/i);
  expect(decodeURIComponent(decodeURIComponent(inner))).toMatch(/^<cookie page="1"><accountid last="\{[0-9a-f-]{36}\}" \/><\/cookie>$/);
});
