// The command bar never forces a write: a row that changed since the operator saw it (in the grid's view or on the
// form), or between the command's read and write (412), is reported with its new status; a row without a usable ETag
// is not written; ids that are not GUIDs are reported, not dropped. The other rows still get the command.
import { OutboxMessage, OutboxStatus } from '@dataverse-outbox/contract';
import { DataMock, EntityMock, GridControlMock, GridEntityMock, GridMock, GridRowDataMock, GridRowMock, ItemCollectionMock, OptionSetAttributeMock, XrmMockGenerator } from 'xrm-mock';
import { configureCommands, runCommand, runFromForm, runFromGrid, type CommandEnvironment } from '../src';
import { MemoryRowStore } from './support/memory-row-store';
import { createOutboxMessageForm } from './support/xrm-form';

const col = OutboxMessage.columns;
const { Pending, Published, Acked, Failed, DeadLettered, Cancelled } = OutboxStatus;
const id = (n: number) => `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`;

/** A grid whose view shows obx_status: each selected row carries the status the operator sees. */
function grid(rows: Array<{ id: string; status: number }>): Xrm.Controls.GridControl {
  const gridRows = rows.map((r) => {
    const attributes = new ItemCollectionMock<Xrm.Attributes.Attribute>([new OptionSetAttributeMock({ name: col.status, value: r.status } as never) as unknown as Xrm.Attributes.Attribute]);
    const entity = new EntityMock({ id: r.id, entityName: OutboxMessage.logicalName, attributes });
    return new GridRowMock(new DataMock(entity), new GridRowDataMock(new GridEntityMock({ id: r.id, entityType: OutboxMessage.logicalName, name: r.id })));
  });
  const collection = new ItemCollectionMock<Xrm.Controls.Grid.GridRow>(gridRows);
  const control = new GridControlMock({ name: 'grid', grid: new GridMock(collection, collection) } as never);
  jest.spyOn(control, 'refresh').mockImplementation(() => undefined);
  return control as unknown as Xrm.Controls.GridControl;
}

function summary(): string {
  const calls = (Xrm.Navigation as unknown as { alertDialogCalls: Array<{ alertStrings: { text: string } }> }).alertDialogCalls;
  return calls[calls.length - 1]?.alertStrings.text ?? '';
}

let store: MemoryRowStore;

beforeEach(() => {
  XrmMockGenerator.initialise();
  store = new MemoryRowStore();
  jest.spyOn(Xrm.Utility, 'showProgressIndicator').mockImplementation(() => undefined);
  jest.spyOn(Xrm.Utility, 'closeProgressIndicator').mockImplementation(() => undefined);
  configureCommands({ store });
});

afterEach(() => configureCommands({}));

it('grid: a row whose status moved on since the view showed it is reported and not written; the others are', async () => {
  store.add(id(1), Published).add(id(2), Pending);
  const control = grid([
    { id: id(1), status: Pending },
    { id: id(2), status: Pending },
  ]);
  const run = await runFromGrid('cancel', control, [id(1), id(2)]);
  expect(run.results).toEqual([
    { id: id(1), outcome: 'changed', detail: 'this row changed since you opened it: now Published; refresh and try again' },
    { id: id(2), outcome: 'done' },
  ]);
  expect(store.updates.map((u) => u.id)).toEqual([id(2)]);
  expect(store.rows.get(id(1))?.status).toBe(Published);
  expect(summary()).toMatch(/^Cancel: 1 done, 1 changed\./);
  expect(control.refresh).toHaveBeenCalled();
});

it('form: the row was retried elsewhere after the form loaded: not written, the form is refreshed', async () => {
  const { formContext } = createOutboxMessageForm({ id: `{${id(3).toUpperCase()}}`, status: Failed });
  jest.spyOn(formContext.data.entity, 'getIsDirty').mockReturnValue(false);
  formContext.data.refresh = jest.fn().mockResolvedValue(undefined);
  store.add(id(3), Pending);
  const run = await runFromForm('cancel', formContext);
  expect(run.results).toEqual([{ id: id(3), outcome: 'changed', detail: 'this row changed since you opened it: now Pending; refresh and try again' }]);
  expect(store.updates).toEqual([]);
  expect(formContext.data.refresh).toHaveBeenCalledWith(false);
});

it('412 between read and write: the detail names the status the row has now', async () => {
  store.add(id(4), DeadLettered).add(id(5), DeadLettered);
  store.beforeUpdate = (rowId, row) => {
    if (rowId === id(4)) Object.assign(row, { status: Acked, version: row.version + 1 });
  };
  const run = await runFromGrid('replay', grid([{ id: id(4), status: DeadLettered }, { id: id(5), status: DeadLettered }]), [id(4), id(5)]);
  expect(run.results).toEqual([
    { id: id(4), outcome: 'changed', detail: 'this row changed since you opened it: now Acked; refresh and try again' },
    { id: id(5), outcome: 'done' },
  ]);
  expect(store.rows.get(id(4))).toEqual(expect.objectContaining({ status: Acked, replayCount: 0 }));
});

it('a row read without a usable ETag is not written (no If-Match: * fallback)', async () => {
  store.add(id(6), Failed).add(id(7), Failed);
  store.etagOf = (rowId, row) => (rowId === id(6) ? undefined : `W/"${row.version}"`);
  const run = await runCommand('retry', [id(6), id(7)], { ...env(), store });
  expect(run.results[0]).toEqual(expect.objectContaining({ id: id(6), outcome: 'failed', detail: expect.stringMatching(/no usable version \(ETag\)/) }));
  expect(run.results[1]).toEqual({ id: id(7), outcome: 'done' });
  expect(store.rows.get(id(6))?.status).toBe(Failed);
});

it('ids that are not GUIDs are reported, not silently dropped; the good ones still run', async () => {
  store.add(id(8), Pending);
  const run = await runCommand('cancel', [id(8), "x' or 1 eq 1", null], { ...env(), store });
  expect(run.results).toEqual([
    { id: id(8), outcome: 'done' },
    { id: '"x\' or 1 eq 1"', outcome: 'invalid', detail: 'not a row id (must be a GUID); nothing was changed for it' },
    { id: 'null', outcome: 'invalid', detail: 'not a row id (must be a GUID); nothing was changed for it' },
  ]);
  expect(store.rows.get(id(8))?.status).toBe(Cancelled);
});

function env(): CommandEnvironment {
  return {
    store,
    confirm: async () => true,
    alert: async () => undefined,
    showProgress: () => undefined,
    closeProgress: () => undefined,
    progressThreshold: 5,
    concurrency: 4,
  };
}
