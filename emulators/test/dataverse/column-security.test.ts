// Column security (Microsoft Learn, "Column-level security"): a caller in no column security profile reads the secured
// columns (`<IsSecured>1` in the solution) as null; everyone else, and every non-secured column, reads as stored. The
// emulator's `columnSecurity.withoutProfile` names such callers, so the product can be tested against a missing profile.
import { OutboxMessage, OutboxStatus } from '@dataverse-outbox/contract';
import type { DataverseEmulator } from '@dataverse-outbox/emulators/dataverse';
import { outboxRow, startEmulator, type WebApi } from './support';

const SET = OutboxMessage.entitySetName;
const C = OutboxMessage.columns;
let emulator: DataverseEmulator;
let api: WebApi;
let id: string;

beforeAll(async () => {
  ({ emulator, api } = await startEmulator({ columnSecurity: { withoutProfile: ['no-profile-app'] } }));
  id = await api.create(SET, outboxRow('cs-1', { obx_sessionkey: 'k1', obx_correlationid: 'corr-1' }));
});
afterAll(async () => {
  await emulator.close();
});

const secured = [C.status, C.target, C.payload, C.sessionKey, C.correlationId];

describe('column security: secured columns read as null for a caller in no profile', () => {
  test('a Pending-filtered query returns the row (the filter sees the stored value) with its secured columns null', async () => {
    const res = await api.get(`${SET}?$filter=${C.status} eq ${OutboxStatus.Pending}&$select=${[C.id, C.messageId, ...secured].join(',')}`, { token: 'no-profile-app' });
    expect(res.status).toBe(200);
    const [row] = res.json['value'] as Record<string, unknown>[];
    expect(row?.[C.id]).toBe(id);
    expect(row?.[C.messageId]).toBe('cs-1');
    for (const c of secured) expect({ c, v: row?.[c] }).toEqual({ c, v: null });
  });

  test('retrieve by id and FetchXML hide them too; a formatted value is not given for a hidden choice', async () => {
    const one = await api.get(`${SET}(${id})`, { token: 'no-profile-app', headers: { Prefer: 'odata.include-annotations="*"' } });
    expect(one.json[C.payload]).toBeNull();
    expect(one.json[C.status]).toBeNull();
    expect(one.json[`${C.status}@OData.Community.Display.V1.FormattedValue`]).toBeUndefined();
    const fetch = `<fetch><entity name="${OutboxMessage.logicalName}"><attribute name="${C.target}"/><attribute name="${C.messageId}"/></entity></fetch>`;
    const fx = await api.get(`${SET}?fetchXml=${encodeURIComponent(fetch)}`, { token: 'no-profile-app' });
    expect(fx.json['value']).toEqual([expect.objectContaining({ [C.target]: null, [C.messageId]: 'cs-1' })]);
  });

  test('any other caller reads the stored values', async () => {
    const res = await api.get(`${SET}(${id})?$select=${secured.join(',')}`, { token: 'profile-member' });
    expect(res.json).toMatchObject({ [C.status]: OutboxStatus.Pending, [C.target]: 'orders', [C.payload]: '{"n":1}', [C.sessionKey]: 'k1', [C.correlationId]: 'corr-1' });
  });
});
