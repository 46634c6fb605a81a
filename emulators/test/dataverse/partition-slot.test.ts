// obx_partitionslot as the emulator serves it from the solution XML (a whole number 0-1023, optional): stored and
// returned as a number, filtered by the slot ranges publishers read (`ge` / `lt`) and by `eq null` (rows of producers
// that know nothing of partitions), and refused outside its range with Dataverse's IntegerValueOutOfRange (0x8004432F,
// Microsoft Learn "Web service error codes"), or as a literal that is not an Int32 with the payload error.
import { OutboxMessage, PARTITION_SLOTS } from '@dataverse-outbox/contract';
import type { DataverseEmulator } from '@dataverse-outbox/emulators/dataverse';
import { outboxRow, startEmulator, type WebApi } from './support';

const SET = OutboxMessage.entitySetName;
const L = OutboxMessage.logicalName;
const SLOT = OutboxMessage.columns.partitionSlot;
const OUT_OF_RANGE = { error: { code: '0x8004432F', message: 'A validation error occurred. An integer provided is outside of the allowed values for this attribute.' } };
let emulator: DataverseEmulator;
let api: WebApi;

beforeAll(async () => {
  ({ emulator, api } = await startEmulator());
  // Slots on both sides of each bound of the range 256 .. 511, the two ends of the column, and a row without a slot.
  for (const slot of [0, 255, 256, 300, 511, 512, PARTITION_SLOTS - 1]) await api.create(SET, outboxRow(`slot-${slot}`, { [SLOT]: slot }));
  await api.create(SET, outboxRow('slot-none'));
  await api.create(SET, outboxRow('slot-null', { [SLOT]: null }));
});
afterAll(async () => {
  await emulator.close();
});

const messageIds = async (filter: string): Promise<string[]> =>
  (await api.rows(SET, `$select=obx_messageid,${SLOT}&$filter=${encodeURIComponent(filter)}&$orderby=obx_messageid`)).map((r) => String(r['obx_messageid']));

test('stores the slot and returns it as a number; a row created without one reads null', async () => {
  const [row] = await api.rows(SET, `$select=${SLOT}&$filter=obx_messageid eq 'slot-300'`);
  expect(row?.[SLOT]).toBe(300);
  const [none] = await api.rows(SET, `$select=${SLOT}&$filter=obx_messageid eq 'slot-none'`);
  expect(none?.[SLOT]).toBeNull();
});

test('a slot range filter returns exactly the rows of the range (from inclusive, to exclusive)', async () => {
  expect(await messageIds(`${SLOT} ge 256 and ${SLOT} lt 512`)).toEqual(['slot-256', 'slot-300', 'slot-511']);
  expect(await messageIds(`${SLOT} ge 0 and ${SLOT} lt 256`)).toEqual(['slot-0', 'slot-255']);
});

test('eq null finds the rows without a slot, and a range filter never returns them', async () => {
  expect(await messageIds(`${SLOT} eq null`)).toEqual(['slot-none', 'slot-null']);
  expect(await messageIds(`(${SLOT} ge 0 and ${SLOT} lt ${PARTITION_SLOTS}) or ${SLOT} eq null`)).toHaveLength(9);
  expect(await messageIds(`${SLOT} ge 0 and ${SLOT} lt ${PARTITION_SLOTS}`)).toHaveLength(7);
});

test.each([
  ['one past the last slot', PARTITION_SLOTS],
  ['a negative slot', -1],
  ['the largest Int32', 2147483647],
])('refuses %s on create and on update with IntegerValueOutOfRange, writing nothing', async (_what, slot) => {
  const created = await api.post(SET, outboxRow(`bad-${slot}`, { [SLOT]: slot }));
  expect({ status: created.status, body: created.json }).toEqual({ status: 400, body: OUT_OF_RANGE });
  expect(await messageIds(`obx_messageid eq 'bad-${slot}'`)).toEqual([]);
  const [row] = await api.rows(SET, `$select=obx_outboxmessageid&$filter=obx_messageid eq 'slot-300'`);
  const updated = await api.patch(`${SET}(${String(row?.['obx_outboxmessageid'])})`, { [SLOT]: slot });
  expect({ status: updated.status, body: updated.json }).toEqual({ status: 400, body: OUT_OF_RANGE });
  expect(await messageIds(`${SLOT} eq 300`)).toEqual(['slot-300']);
});

test.each([
  ['text', 'x', "'x'"],
  ['a number as text', '5', "'5'"],
  ['a fraction', 1.5, "'1.5'"],
])('refuses a slot given as %s with the payload error (not an Edm.Int32)', async (_what, slot, literal) => {
  const res = await api.post(SET, outboxRow(`wrong-type-${String(slot)}`, { [SLOT]: slot }));
  expect(res.status).toBe(400);
  expect(res.json['error']).toMatchObject({ code: '0x80048d19' });
  expect((res.json['error'] as { message: string }).message).toContain(`Cannot convert the literal ${literal} to the expected type 'Edm.Int32'.`);
  expect(await messageIds(`obx_messageid eq 'wrong-type-${String(slot)}'`)).toEqual([]);
});

test('the other whole-number columns keep their own ranges: attempts may not be negative, a time zone code may be -1', async () => {
  expect((await api.post(SET, outboxRow('negative-attempts', { obx_attempts: -1 }))).json).toEqual(OUT_OF_RANGE);
  expect((await api.post(SET, outboxRow('time-zone', { utcconversiontimezonecode: -1 }))).status).toBe(204);
});

test('the metadata API publishes the range (IntegerAttributeMetadata MinValue / MaxValue)', async () => {
  const res = await api.get(`EntityDefinitions(LogicalName='${L}')/Attributes(LogicalName='${SLOT}')`);
  expect(res.status).toBe(200);
  expect(res.json).toMatchObject({ AttributeType: 'Integer', MinValue: 0, MaxValue: PARTITION_SLOTS - 1, RequiredLevel: { Value: 'None' } });
});
