// Alternate keys travel in URL paths (the producer's upsert on obx_messageid, the lease scope): every character of the
// value must reach Dataverse as written. Against the Dataverse emulator, which decodes paths as the Web API does.
import { startDataverseEmulator, type DataverseEmulator } from '@dataverse-outbox/emulators/dataverse';
import { DataverseClient, DataverseOutboxStore, OutboxWriter, alternateKey } from '../../src';

let dv: DataverseEmulator;
let client: DataverseClient;
beforeAll(async () => {
  dv = await startDataverseEmulator({ port: 0 });
  client = new DataverseClient(dv.url, { token: 'alternate-keys' }, { retryOptions: { retryDelayInMs: 20 } });
});
afterAll(async () => {
  await client.close();
  await dv.close();
});

it('alternateKey quotes as an OData literal, then percent-encodes everything but unreserved characters', () => {
  expect(alternateKey('obx_name', "a#b?c%d/e'f(g)")).toBe("obx_name='a%23b%3Fc%25d%2Fe%27%27f%28g%29'");
  expect(() => alternateKey('obx_name) or (x', 'a')).toThrow('alternate key column must be a logical name');
});

it('a producer messageId with # ? % / and a quote is stored exactly, and a retried transaction updates the same row', async () => {
  // "order#1" once failed the whole transaction (404 for the segment cut at "#"); "p%41q" was stored as "pAq".
  const ids = ['order#1', 'a?b=1', 'p%41q', 'x/y', "it's", 'sp ace'];
  const writer = new OutboxWriter(client);
  for (let round = 0; round < 2; round++) {
    await writer.transaction((tx) => {
      for (const messageId of ids) tx.enqueue({ target: 'orders', payload: { round }, messageId });
    });
  }
  const rows = await new DataverseOutboxStore(client).query({});
  expect(rows.map((r) => r.messageId).sort()).toEqual([...ids].sort());
});
