// commitWithOutbox stores the commit's W3C trace context in obx_tracecontext, through the $batch adapter against the
// Dataverse emulator over a real socket: a new trace per commit by default (every message of the commit names it), the
// caller's traceParent when given, a message's own first; a hostile one is refused before anything is sent.
import { OutboxMessage, parseTraceParent } from '@dataverse-outbox/contract';
import { startDataverseEmulator } from '@dataverse-outbox/emulators/dataverse';
import { DataverseClient } from '@dataverse-outbox/web-api';
import { createHttpBatchExecutor } from '@dataverse-outbox/webresources/http-batch';
import { commitWithOutbox, isOutboxRowError } from '../../src';

const col = OutboxMessage.columns;
const token = 'trace-context-test-token';
const CALLER = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
const OWN = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00';

let emulator: { url: string; close(): Promise<void> | void };
let client: DataverseClient;

beforeAll(async () => {
  emulator = await startDataverseEmulator({ port: 0 });
  client = new DataverseClient(emulator.url, { token });
}, 60_000);

afterAll(async () => {
  await client?.close();
  await emulator?.close();
});

const webApi = () => createHttpBatchExecutor({ client, entitySetNames: { account: 'accounts' } });
const change = () => ({ operation: 'create' as const, entityLogicalName: 'account', data: { name: 'Traced' } });

async function storedContext(rowId: string): Promise<unknown> {
  return (await client.retrieve(OutboxMessage.entitySetName, rowId))?.[col.traceContext];
}

describe('obx_tracecontext written by commitWithOutbox', () => {
  it('a new trace per commit, shared by its messages; another commit has another trace', async () => {
    const first = await commitWithOutbox(change(), [{ target: 'orders', payload: 1 }, { target: 'orders', payload: 2 }], { webApi: webApi() });
    const [a, b] = await Promise.all(first.outboxRowIds.map(storedContext));
    expect(parseTraceParent(a)).toBeDefined();
    expect(b).toBe(a);
    const second = await commitWithOutbox(change(), { target: 'orders', payload: 3 }, { webApi: webApi() });
    const c = await storedContext(second.outboxRowIds[0]!);
    expect(parseTraceParent(c)!.traceId).not.toBe(parseTraceParent(a)!.traceId);
  });

  it("the caller's traceParent for messages without one; a message's own wins", async () => {
    const result = await commitWithOutbox(change(), [{ target: 'orders', payload: 1 }, { target: 'orders', payload: 2, traceParent: OWN }], { webApi: webApi(), traceParent: CALLER });
    expect(await Promise.all(result.outboxRowIds.map(storedContext))).toEqual([CALLER, OWN]);
  });

  it("a hostile caller traceParent is refused before anything is sent (OutboxRowError on traceParent)", async () => {
    const error = await commitWithOutbox(change(), { target: 'orders', payload: 1 }, { webApi: webApi(), traceParent: `${CALLER}\nx` }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(isOutboxRowError(error)).toBe(true);
    expect(error).toMatchObject({ code: 'InvalidField', field: 'traceParent' });
  });
});
