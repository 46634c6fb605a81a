// Conformance: query options, paging and counting.
// Microsoft Learn: "Query data using the Web API" ($select, $filter, $orderby, $top, $expand), "Filter rows"
// (comparison, and/or/not, null, contains/startswith/endswith, Microsoft.Dynamics.CRM.In), "Page results"
// (Prefer: odata.maxpagesize, @odata.nextLink, no $skip), "Count rows" ($count capped at 5,000).
import { OutboxMessage, OutboxStatus } from '@dataverse-outbox/contract';
import type { DataverseEmulator } from '@dataverse-outbox/emulators/dataverse';
import { outboxRow, startEmulator, type WebApi } from './support';

const SET = OutboxMessage.entitySetName;
let emulator: DataverseEmulator;
let api: WebApi;

beforeAll(async () => {
  ({ emulator, api } = await startEmulator());
  const targets = Array.from({ length: 30 }, (_, i) =>
    outboxRow(`q-${String(i).padStart(2, '0')}`, {
      '@odata.type': `Microsoft.Dynamics.CRM.${OutboxMessage.logicalName}`,
      obx_attempts: i % 5,
      obx_sessionkey: i % 2 === 0 ? 'even' : null,
      obx_status: i < 10 ? OutboxStatus.Pending : i < 20 ? OutboxStatus.Published : OutboxStatus.Acked,
      obx_target: i % 3 === 0 ? 'orders-eu' : 'invoices',
    }),
  );
  const res = await api.post(`${SET}/Microsoft.Dynamics.CRM.CreateMultiple`, { Targets: targets });
  expect(res.status).toBe(200);
});
afterAll(async () => {
  await emulator.close();
});

const ids = (rows: Record<string, unknown>[]): string[] => rows.map((r) => String(r['obx_messageid']));

describe('$filter', () => {
  test('comparison, and/or/not, parentheses', async () => {
    const rows = await api.rows(SET, `$select=obx_messageid&$filter=obx_attempts ge 3 and (obx_status eq ${OutboxStatus.Pending} or not (obx_target ne 'invoices'))&$orderby=obx_messageid`);
    expect(ids(rows)).toEqual(['q-03', 'q-04', 'q-08', 'q-09', 'q-13', 'q-14', 'q-19', 'q-23', 'q-28', 'q-29']);
  });

  test('null comparisons', async () => {
    expect(await api.rows(SET, '$filter=obx_sessionkey eq null&$select=obx_messageid')).toHaveLength(15);
    expect(await api.rows(SET, '$filter=obx_sessionkey ne null&$select=obx_messageid')).toHaveLength(15);
  });

  test('contains, startswith, endswith (case-insensitive like SQL Server)', async () => {
    expect(await api.rows(SET, "$filter=contains(obx_target,'EU')&$select=obx_messageid")).toHaveLength(10);
    expect(await api.rows(SET, "$filter=startswith(obx_messageid,'q-2')&$select=obx_messageid")).toHaveLength(10);
    expect(await api.rows(SET, "$filter=endswith(obx_messageid,'5')&$select=obx_messageid")).toHaveLength(3);
  });

  test('Microsoft.Dynamics.CRM.In and NotIn', async () => {
    const rows = await api.rows(SET, `$select=obx_messageid&$filter=Microsoft.Dynamics.CRM.In(PropertyName='obx_messageid',PropertyValues=['q-01','q-07','zzz'])`);
    expect(ids(rows).sort()).toEqual(['q-01', 'q-07']);
    const notIn = await api.rows(SET, `$select=obx_messageid&$filter=Microsoft.Dynamics.CRM.NotIn(PropertyName='obx_status',PropertyValues=['${OutboxStatus.Pending}','${OutboxStatus.Acked}'])`);
    expect(notIn).toHaveLength(10);
  });

  test('date functions: LastXHours includes rows just written; OlderThanXDays excludes them', async () => {
    expect(await api.rows(SET, "$select=obx_messageid&$filter=Microsoft.Dynamics.CRM.LastXHours(PropertyName='createdon',PropertyValue=1)")).toHaveLength(30);
    expect(await api.rows(SET, "$select=obx_messageid&$filter=Microsoft.Dynamics.CRM.OlderThanXDays(PropertyName='createdon',PropertyValue=1)")).toHaveLength(0);
    expect(await api.rows(SET, `$select=obx_messageid&$filter=createdon gt 2000-01-01T00:00:00Z and createdon lt 2999-01-01`)).toHaveLength(30);
  });

  test('an unknown property is 400 0x80060888 naming it; a syntax error gives its position', async () => {
    const unknown = await api.get(`${SET}?$filter=obx_nope eq 1`);
    expect(unknown.status).toBe(400);
    expect(unknown.json).toEqual({ error: { code: '0x80060888', message: "Could not find a property named 'obx_nope' on type 'Microsoft.Dynamics.CRM.obx_outboxmessage'." } });
    const syntax = await api.get(`${SET}?$filter=${encodeURIComponent('obx_attempts eq')}`);
    expect(syntax.status).toBe(400);
    expect(syntax.json).toEqual({ error: { code: '0x80060888', message: "Syntax error at position 15 in 'obx_attempts eq'." } });
    const types = await api.get(`${SET}?$filter=${encodeURIComponent("obx_attempts eq 'x'")}`);
    expect(types.status).toBe(400);
    expect((types.json['error'] as { message: string }).message).toContain("'Edm.Int32' and 'Edm.String'");
  });
});

describe('$select, $orderby, $top, $count', () => {
  test('$orderby desc with $top; the primary key is always returned', async () => {
    const rows = await api.rows(SET, '$select=obx_messageid&$orderby=obx_messageid desc&$top=3');
    expect(ids(rows)).toEqual(['q-29', 'q-28', 'q-27']);
    expect(Object.keys(rows[0] as object).sort()).toEqual(['@odata.etag', 'obx_messageid', 'obx_outboxmessageid']);
  });

  test('$count=true adds @odata.count of all matching rows', async () => {
    const res = await api.get(`${SET}?$select=obx_messageid&$filter=obx_status eq ${OutboxStatus.Published}&$count=true&$top=2`);
    expect(res.json['@odata.count']).toBe(10);
    expect(res.json['value']).toHaveLength(2);
    const plain = await api.get(`${SET}/$count`);
    expect(plain.text).toBe('30');
  });

  test('$skip is not supported (paging is by nextLink only)', async () => {
    const res = await api.get(`${SET}?$skip=10`);
    expect(res.status).toBe(400);
    expect(res.json).toEqual({ error: { code: '0x80060888', message: 'The query parameter $skip is not supported' } });
  });
});

describe('paging (Page results)', () => {
  test('odata.maxpagesize pages with @odata.nextLink return every row exactly once, even with writes between pages', async () => {
    const seen: string[] = [];
    let url: string | undefined = `${SET}?$select=obx_messageid&$orderby=obx_sequence`;
    let pages = 0;
    while (url) {
      const res = await api.get(url, { headers: { Prefer: 'odata.maxpagesize=7' } });
      expect(res.status).toBe(200);
      expect(res.headers.get('preference-applied')).toBe('odata.maxpagesize=7');
      seen.push(...ids(res.json['value'] as Record<string, unknown>[]));
      url = res.json['@odata.nextLink'] as string | undefined;
      if (pages === 1) {
        // A row deleted behind the cursor and one added ahead of it: neither shifts the pages.
        await api.delete(`${SET}(obx_messageid='q-00')`);
        await api.create(SET, outboxRow('q-new'));
      }
      pages++;
    }
    expect(pages).toBe(5);
    expect(new Set(seen).size).toBe(seen.length);
    expect(seen).toContain('q-00'); // read before it was deleted
    expect(seen).toContain('q-new'); // added after the cursor, in sequence order
    expect(seen).toHaveLength(31);
  });
});
