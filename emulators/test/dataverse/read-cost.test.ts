// The latency model's "records read": a query is charged the rows it has to read, not only the rows it returns. A
// `$top`-bounded page reads its page; a count (`$count=true`, FetchXML returntotalrecordcount) reads the matching rows
// up to its 5,000 cap; an aggregate refused over AggregateQueryRecordLimit still read limit + 1 rows to know it.
import { OutboxMessage } from '@dataverse-outbox/contract';
import type { DataverseEmulator } from '@dataverse-outbox/emulators/dataverse';
import { outboxRow, startEmulator, type WebApi } from './support';

const SET = OutboxMessage.entitySetName;
const ROWS = 60;
const AGGREGATE_LIMIT = 40;
let emulator: DataverseEmulator;
let api: WebApi;

beforeAll(async () => {
  ({ emulator, api } = await startEmulator({ aggregateQueryRecordLimit: AGGREGATE_LIMIT }));
  const targets = Array.from({ length: ROWS }, (_, i) => ({ ...outboxRow(`cost-${i}`), '@odata.type': `Microsoft.Dynamics.CRM.${OutboxMessage.logicalName}` }));
  expect((await api.post(`${SET}/Microsoft.Dynamics.CRM.CreateMultiple`, { Targets: targets })).status).toBe(200);
});

afterAll(async () => {
  await emulator.close();
});

/** Records read charged to the one request `run` makes. */
async function recordsRead(run: () => Promise<unknown>): Promise<number> {
  emulator.resetRequestCounters();
  await run();
  const total = emulator.getRequestCounters().total;
  expect(total.requests).toBe(1);
  return total.recordsRead;
}

test('a $top page is charged its rows; $count=true is charged the rows it counts as well', async () => {
  expect(await recordsRead(() => api.rows(SET, '$select=obx_messageid&$top=5'))).toBe(5);
  expect(await recordsRead(() => api.get(`${SET}?$select=obx_messageid&$top=5&$count=true`))).toBe(5 + ROWS);
});

test('FetchXML returntotalrecordcount is charged the rows it counts', async () => {
  const fetch = `<fetch page="1" count="5" returntotalrecordcount="true"><entity name="${OutboxMessage.logicalName}"><attribute name="obx_messageid"/></entity></fetch>`;
  expect(await recordsRead(() => api.get(`${SET}?fetchXml=${encodeURIComponent(fetch)}`))).toBe(5 + ROWS);
});

test('an aggregate is charged the rows it covers, and a refused one the limit + 1 rows it read to find out', async () => {
  const count = (filter: string): string =>
    `<fetch aggregate="true"><entity name="${OutboxMessage.logicalName}"><attribute name="${OutboxMessage.primaryIdAttribute}" alias="n" aggregate="count"/>${filter}</entity></fetch>`;
  const few = count(`<filter><condition attribute="obx_messageid" operator="like" value="cost-1%"/></filter>`);
  expect(await recordsRead(() => api.get(`${SET}?fetchXml=${encodeURIComponent(few)}`))).toBe(11);
  let status = 0;
  expect(
    await recordsRead(async () => {
      status = (await api.get(`${SET}?fetchXml=${encodeURIComponent(count(''))}`)).status;
    }),
  ).toBe(AGGREGATE_LIMIT + 1);
  expect(status).toBe(400);
});
