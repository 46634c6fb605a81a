// OutboxWriter stores the commit's W3C trace context in obx_tracecontext, through the Dataverse emulator over a real
// socket: the caller's current context (its traceParent option), a message's own traceParent, or a new trace per
// transaction; every row of one transaction without its own names the same commit context.
import { startDataverseEmulator, type DataverseEmulator } from '@dataverse-outbox/emulators/dataverse';
import { OutboxMessage, parseTraceParent } from '@dataverse-outbox/contract';
import { DataverseClient } from '@dataverse-outbox/web-api';
import { OutboxRowError, OutboxWriter } from '../src';

const SET = OutboxMessage.entitySetName;
const C = OutboxMessage.columns;
const CALLER = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
const OWN = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00';
let dv: DataverseEmulator;
let client: DataverseClient;

beforeAll(async () => {
  dv = await startDataverseEmulator({ port: 0 });
  client = new DataverseClient(dv.url, { token: 'producer-trace' });
});
afterAll(async () => {
  await client.close();
  await dv.close();
});

async function storedContexts(messageIds: readonly string[]): Promise<unknown[]> {
  return Promise.all(messageIds.map(async (id) => (await client.retrieveMultiple(SET, { filter: `${C.messageId} eq '${id}'` })).value[0]?.[C.traceContext]));
}

describe('obx_tracecontext written by OutboxWriter', () => {
  it("the caller's current context for every row without one; a message's own traceParent wins", async () => {
    let asked = 0;
    const writer = new OutboxWriter(client, { traceParent: () => (asked++, CALLER) });
    const { messageIds } = await writer.transaction((tx) => {
      tx.enqueue({ target: 'orders', payload: 1, messageId: 'tc-caller-1' });
      tx.enqueue({ target: 'orders', payload: 2 });
      tx.enqueue({ target: 'orders', payload: 3, messageId: 'tc-own', traceParent: OWN });
    });
    expect(await storedContexts(messageIds)).toEqual([CALLER, CALLER, OWN]);
    expect(asked).toBe(1);
  });

  it('a new trace per transaction without a caller context (or with an invalid one): one per commit, each valid', async () => {
    const writer = new OutboxWriter(client, { traceParent: () => 'not a traceparent' });
    const first = await writer.transaction((tx) => {
      tx.enqueue({ target: 'orders', payload: 1 });
      tx.enqueue({ target: 'orders', payload: 2 });
    });
    const second = await new OutboxWriter(client).transaction((tx) => void tx.enqueue({ target: 'orders', payload: 3 }));
    const [a, b] = await storedContexts(first.messageIds);
    const [c] = await storedContexts(second.messageIds);
    expect(parseTraceParent(a)).toBeDefined();
    expect(b).toBe(a);
    expect(parseTraceParent(c)).toBeDefined();
    expect(parseTraceParent(c)!.traceId).not.toBe(parseTraceParent(a)!.traceId);
  });

  it("a message's hostile traceParent is refused before anything is sent", async () => {
    const writer = new OutboxWriter(client);
    await expect(writer.transaction((tx) => void tx.enqueue({ target: 'orders', payload: 1, traceParent: `${CALLER}\r\nx: y` }))).rejects.toMatchObject({
      name: OutboxRowError.name,
      code: 'InvalidField',
      field: 'traceParent',
    });
  });
});
