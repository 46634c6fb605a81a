// commitWithOutbox through the $batch adapter against the Dataverse emulator over a real socket: the business row and
// the outbox row commit together, and a failing outbox request leaves neither (spec invariant 2). The commands' Web API
// row store is exercised against the same server (ETag conditional updates).
import { OutboxMessage, OutboxStatus, partitionSlotOfKey } from '@dataverse-outbox/contract';
import { startDataverseEmulator } from '@dataverse-outbox/emulators/dataverse';
import { DataverseClient } from '@dataverse-outbox/web-api';
import { createHttpBatchExecutor } from '@dataverse-outbox/webresources/http-batch';
import {
  commitWithOutbox,
  isOutboxCommitError,
  planCommit,
  runCommand,
  WebApiRowStore,
  type CommandEnvironment,
  type CreateRequest,
  type OutboxCommitError,
} from '../../src';

const col = OutboxMessage.columns;
const token = 'integration-test-token';

let emulator: { url: string; close(): Promise<void> | void };
let api: string;

beforeAll(async () => {
  emulator = await startDataverseEmulator({ port: 0 });
  api = `${emulator.url.replace(/\/+$/, '')}/api/data/v9.2/`;
}, 60_000);

afterAll(async () => {
  await emulator?.close();
});

function webApi() {
  return createHttpBatchExecutor({ client: new DataverseClient(emulator.url, { token }), entitySetNames: { account: 'accounts', opportunity: 'opportunities' } });
}

async function get(path: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(api + path, { headers: { Authorization: `Bearer ${token}`, Accept: 'application/json', 'OData-Version': '4.0' } });
  const text = await response.text();
  return { status: response.status, body: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
}

async function outboxRowsWithMessageId(messageId: string): Promise<Array<Record<string, unknown>>> {
  const { status, body } = await get(`${OutboxMessage.entitySetName}?$select=${col.id},${col.messageId}&$filter=${encodeURIComponent(`${col.messageId} eq '${messageId}'`)}`);
  expect(status).toBe(200);
  return body.value as Array<Record<string, unknown>>;
}

async function rejected(promise: Promise<unknown>): Promise<OutboxCommitError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(isOutboxCommitError(error)).toBe(true);
  return error as OutboxCommitError;
}

describe('commitWithOutbox over $batch against the Dataverse emulator', () => {
  it('after success both the business row and the outbox row exist', async () => {
    const result = await commitWithOutbox(
      { operation: 'create', entityLogicalName: 'opportunity', data: { name: 'Contoso deal' } },
      { target: 'sales-orders', eventType: 'SalesOrderWon', payload: { amount: 1250.5, lines: [{ sku: 'A-1', qty: 2 }] }, correlationId: 'corr-ok' },
      { webApi: webApi() },
    );
    const [opportunityId] = result.businessIds;
    const [rowId] = result.outboxRowIds;

    const opportunity = await get(`opportunities(${opportunityId})?$select=name`);
    expect(opportunity.status).toBe(200);
    expect(opportunity.body.name).toBe('Contoso deal');

    const row = await get(`${OutboxMessage.entitySetName}(${rowId})`);
    expect(row.status).toBe(200);
    expect(row.body).toEqual(
      expect.objectContaining({
        [col.messageId]: rowId,
        [col.target]: 'sales-orders',
        [col.eventType]: 'SalesOrderWon',
        [col.status]: OutboxStatus.Pending,
        [col.sourceEntity]: 'opportunity',
        [col.sourceId]: opportunityId,
        [col.correlationId]: 'corr-ok',
        [col.contentType]: 'application/json',
      }),
    );
    expect(JSON.parse(row.body[col.payload] as string)).toEqual({ amount: 1250.5, lines: [{ sku: 'A-1', qty: 2 }] });
  });

  it('update and delete changes commit with their outbox rows too', async () => {
    const created = await commitWithOutbox(
      { operation: 'create', entityLogicalName: 'account', data: { name: 'Fabrikam' } },
      { target: 'accounts', payload: { created: true } },
      { webApi: webApi() },
    );
    const accountId = created.businessIds[0];
    await commitWithOutbox(
      { operation: 'update', entityLogicalName: 'account', id: accountId, data: { name: 'Fabrikam Ltd' } },
      [
        { target: 'accounts', eventType: 'AccountRenamed', payload: { name: 'Fabrikam Ltd' }, sessionKey: accountId },
        { target: 'audit', payload: 'renamed', contentType: 'text/plain' },
      ],
      { webApi: webApi() },
    );
    expect((await get(`accounts(${accountId})?$select=name`)).body.name).toBe('Fabrikam Ltd');
    // The rename row is stored with the slot of its session key (the account id).
    const renamed = await get(`${OutboxMessage.entitySetName}?$select=${col.partitionSlot}&$filter=${encodeURIComponent(`${col.eventType} eq 'AccountRenamed' and ${col.sessionKey} eq '${accountId}'`)}`);
    expect(renamed.body.value).toEqual([expect.objectContaining({ [col.partitionSlot]: partitionSlotOfKey(accountId as string) })]);
    const removed = await commitWithOutbox({ operation: 'delete', entityLogicalName: 'account', id: accountId }, { target: 'accounts', payload: { deleted: accountId } }, { webApi: webApi() });
    expect((await get(`accounts(${accountId})`)).status).toBe(404);
    expect((await get(`${OutboxMessage.entitySetName}(${removed.outboxRowIds[0]})`)).status).toBe(200);
  });

  it('invariant 2: when the outbox request fails (duplicate messageId), the business row is not written either', async () => {
    const messageId = `deal-${Date.now()}`;
    await commitWithOutbox({ operation: 'create', entityLogicalName: 'account', data: { name: 'First' } }, { target: 'sales-orders', payload: {}, messageId }, { webApi: webApi() });

    const second = commitWithOutbox(
      { operation: 'create', entityLogicalName: 'account', data: { name: 'Second, must not exist' } },
      { target: 'sales-orders', payload: {}, messageId },
      { webApi: webApi() },
    );
    const error = await rejected(second);
    expect(error.code).toBe('CommitFailed');
    expect(error.sent).toBe(true);
    expect(error.requestIndex).toBe(1);
    expect(error.entity).toBe(OutboxMessage.logicalName);
    expect(error.operation).toBe('Create');
    expect(error.message).toMatch(/rolled back, nothing was written: request 2 of 2 \(Create obx_outboxmessage/);

    const { body } = await get(`accounts?$select=name&$filter=${encodeURIComponent("name eq 'Second, must not exist'")}`);
    expect(body.value).toEqual([]);
    expect(await outboxRowsWithMessageId(messageId)).toHaveLength(1);
  });

  it('invariant 2: an outbox request without its required target leaves neither row (and an updated row unchanged)', async () => {
    const created = await commitWithOutbox({ operation: 'create', entityLogicalName: 'account', data: { name: 'Unchanged' } }, { target: 'accounts', payload: {} }, { webApi: webApi() });
    const accountId = created.businessIds[0];

    // Build a valid plan, then break the outbox row the way a buggy caller bypassing validation would.
    const plan = planCommit(
      [
        { operation: 'update', entityLogicalName: 'account', id: accountId, data: { name: 'Changed' } },
        { operation: 'create', entityLogicalName: 'opportunity', data: { name: 'Orphan opportunity' } },
      ],
      { target: 'sales-orders', payload: { n: 1 } },
    );
    const outboxRow = plan.changeSet[2] as CreateRequest;
    delete (outboxRow.payload as Record<string, unknown>)[col.target];

    const failure = await webApi()
      .executeMultiple([plan.changeSet])
      .then(
        () => undefined,
        (e: unknown) => e as { requestIndex?: number; message: string; status: number },
      );
    expect(failure).toEqual(expect.objectContaining({ requestIndex: 2 }));
    expect(failure!.status).toBeGreaterThanOrEqual(400);

    expect((await get(`accounts(${accountId})?$select=name`)).body.name).toBe('Unchanged');
    expect((await get(`opportunities(${plan.businessIds[1]})`)).status).toBe(404);
    expect((await get(`${OutboxMessage.entitySetName}(${plan.outboxRowIds[0]})`)).status).toBe(404);
  });
});

describe('operator commands against the emulator (Web API row store with ETags)', () => {
  const store = () => new WebApiRowStore({ baseUrl: api, headers: { Authorization: `Bearer ${token}` } });

  function environment(): CommandEnvironment & { alerts: string[] } {
    const alerts: string[] = [];
    return {
      store: store(),
      confirm: async () => true,
      alert: async (_title, text) => void alerts.push(text),
      showProgress: () => undefined,
      closeProgress: () => undefined,
      progressThreshold: 5,
      concurrency: 2,
      alerts,
    };
  }

  async function outboxRowIn(status: number, replayCount = 0): Promise<string> {
    const { outboxRowIds } = await commitWithOutbox({ operation: 'create', entityLogicalName: 'account', data: { name: 'cmd' } }, { target: 'q', payload: {} }, { webApi: webApi() });
    const id = outboxRowIds[0];
    const response = await fetch(`${api}${OutboxMessage.entitySetName}(${id})`, {
      method: 'PATCH',
      headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json', 'If-Match': '*' },
      body: JSON.stringify({ [col.status]: status, [col.replayCount]: replayCount, [col.attempts]: 10, [col.lastError]: 'boom' }),
    });
    expect(response.status).toBe(204);
    return id;
  }

  it('Retry and Replay move rows back to Pending; Cancel skips rows whose status does not qualify', async () => {
    const failed = await outboxRowIn(OutboxStatus.Failed);
    const deadLettered = await outboxRowIn(OutboxStatus.DeadLettered, 1);
    const acked = await outboxRowIn(OutboxStatus.Acked);

    const retry = await runCommand('retry', [failed], environment());
    expect(retry.results).toEqual([{ id: failed, outcome: 'done' }]);
    expect((await get(`${OutboxMessage.entitySetName}(${failed})`)).body).toEqual(expect.objectContaining({ [col.status]: OutboxStatus.Pending, [col.attempts]: 0 }));

    await runCommand('replay', [deadLettered], environment());
    expect((await get(`${OutboxMessage.entitySetName}(${deadLettered})`)).body).toEqual(expect.objectContaining({ [col.status]: OutboxStatus.Pending, [col.replayCount]: 2 }));

    const cancel = await runCommand('cancel', [acked], environment());
    expect(cancel.results[0].outcome).toBe('skipped');
    expect((await get(`${OutboxMessage.entitySetName}(${acked})`)).body[col.status]).toBe(OutboxStatus.Acked);
  });

  it('a stale ETag is refused (412): the row is reported as changed, not overwritten', async () => {
    const id = await outboxRowIn(OutboxStatus.Pending);
    const before = await store().get(id);
    // The publisher marks it Published after the operator's read.
    await fetch(`${api}${OutboxMessage.entitySetName}(${id})`, {
      method: 'PATCH',
      headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json', 'If-Match': '*' },
      body: JSON.stringify({ [col.status]: OutboxStatus.Published }),
    });
    await expect(store().update(id, { [col.status]: OutboxStatus.Cancelled }, before!.etag!)).resolves.toBe('changed');
    expect((await get(`${OutboxMessage.entitySetName}(${id})`)).body[col.status]).toBe(OutboxStatus.Published);
  });

  it('the grid statuses read (enable rule fallback) returns each selected row', async () => {
    const a = await outboxRowIn(OutboxStatus.Failed);
    const b = await outboxRowIn(OutboxStatus.DeadLettered);
    const statuses = await store().statuses([a, b, '00000000-0000-4000-8000-000000000000']);
    expect(statuses.get(a)).toBe(OutboxStatus.Failed);
    expect(statuses.get(b)).toBe(OutboxStatus.DeadLettered);
    expect(statuses.size).toBe(2);
  });
});
