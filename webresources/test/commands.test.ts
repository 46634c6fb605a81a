import { OutboxMessage, OutboxStatus } from '@dataverse-outbox/contract';
import {
  DataMock,
  EntityMock,
  GridControlMock,
  GridEntityMock,
  GridMock,
  GridRowDataMock,
  GridRowMock,
  ItemCollectionMock,
  OptionSetAttributeMock,
  XrmMockGenerator,
} from 'xrm-mock';
import { configureCommands, isEnabledForForm, isEnabledForGrid, runFromForm, runFromGrid } from '../src';
import { MemoryRowStore } from './support/memory-row-store';
import { createOutboxMessageForm } from './support/xrm-form';

const col = OutboxMessage.columns;
const { Pending, Published, Acked, Failed, DeadLettered, Cancelled } = OutboxStatus;
const id = (n: number) => `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`;

/** A homepage grid whose selected rows carry obx_status when the view shows that column. */
function grid(rows: Array<{ id: string; status?: number }>): Xrm.Controls.GridControl {
  const gridRows = rows.map((r) => {
    const attributes = new ItemCollectionMock<Xrm.Attributes.Attribute>(
      r.status === undefined ? [] : [new OptionSetAttributeMock({ name: col.status, value: r.status } as never) as unknown as Xrm.Attributes.Attribute],
    );
    const entity = new EntityMock({ id: r.id, entityName: OutboxMessage.logicalName, attributes });
    return new GridRowMock(new DataMock(entity), new GridRowDataMock(new GridEntityMock({ id: r.id, entityType: OutboxMessage.logicalName, name: r.id })));
  });
  const collection = new ItemCollectionMock<Xrm.Controls.Grid.GridRow>(gridRows);
  const control = new GridControlMock({ name: 'grid', grid: new GridMock(collection, collection) } as never);
  jest.spyOn(control, 'refresh').mockImplementation(() => undefined);
  return control as unknown as Xrm.Controls.GridControl;
}

function dialogs() {
  const navigation = Xrm.Navigation as unknown as { confirmDialogCalls: unknown[]; alertDialogCalls: Array<{ alertStrings: { text: string } }> };
  return navigation;
}

let store: MemoryRowStore;
let progress: string[];
let closed: number;

beforeEach(() => {
  XrmMockGenerator.initialise();
  store = new MemoryRowStore();
  progress = [];
  closed = 0;
  // Xrm.Utility's progress indicator is not implemented by xrm-mock: record what the command shows.
  jest.spyOn(Xrm.Utility, 'showProgressIndicator').mockImplementation((message: string) => void progress.push(message));
  jest.spyOn(Xrm.Utility, 'closeProgressIndicator').mockImplementation(() => void closed++);
  configureCommands({ store });
});

afterEach(() => configureCommands({}));

describe('enable rules (RibbonDiff CustomRule -> Obx.Outbox.Commands.isEnabledFor*)', () => {
  it('form: by the current status', () => {
    const cases: Array<[string, number, boolean]> = [
      ['retry', Failed, true],
      ['retry', DeadLettered, false],
      ['replay', DeadLettered, true],
      ['replay', Published, true],
      ['replay', Acked, true],
      ['replay', Failed, false],
      ['cancel', Pending, true],
      ['cancel', Cancelled, false],
      ['cancel', Published, false],
    ];
    for (const [command, status, enabled] of cases) {
      const { formContext } = createOutboxMessageForm({ status });
      expect([command, status, isEnabledForForm(command, formContext)]).toEqual([command, status, enabled]);
    }
  });

  it('form: disabled on a new (unsaved) row', () => {
    const { formContext } = createOutboxMessageForm({ status: Pending, formType: 1 });
    expect(isEnabledForForm('cancel', formContext)).toBe(false);
  });

  it('grid: every selected row must qualify (statuses from the view)', () => {
    const control = grid([{ id: id(1), status: Failed }, { id: id(2), status: Failed }]);
    expect(isEnabledForGrid('retry', control, [id(1), id(2)])).toBe(true);
    const mixed = grid([{ id: id(1), status: Failed }, { id: id(2), status: Acked }]);
    expect(isEnabledForGrid('retry', mixed, [id(1), id(2)])).toBe(false);
    expect(isEnabledForGrid('cancel', mixed, [id(1), id(2)])).toBe(false);
  });

  it('grid: nothing selected means disabled', () => {
    expect(isEnabledForGrid('cancel', grid([]), [])).toBe(false);
  });

  it('grid: reads the statuses when the view does not show the status column', async () => {
    store.add(id(1), DeadLettered).add(id(2), Published);
    const control = grid([{ id: id(1) }, { id: id(2) }]);
    await expect(isEnabledForGrid('replay', control, [id(1), id(2)])).resolves.toBe(true);
    await expect(isEnabledForGrid('retry', control, [id(1), id(2)])).resolves.toBe(false);
    // A selected row that no longer exists disables the command.
    await expect(isEnabledForGrid('replay', grid([{ id: id(1) }, { id: id(9) }]), [id(1), id(9)])).resolves.toBe(false);
  });

  it('rejects an unknown command name (a typo in RibbonDiff.xml fails loudly)', () => {
    expect(() => isEnabledForGrid('retyr', grid([]), [])).toThrow(/Unknown outbox command "retyr"/);
  });
});

describe('commands over selected rows', () => {
  it('Retry: confirms, moves each Failed row to Pending with attempts reset, reports per row, refreshes the grid', async () => {
    store.add(id(1), Failed).add(id(2), Failed).add(id(3), Acked);
    const control = grid([{ id: id(1) }, { id: id(2) }, { id: id(3) }]);
    const run = await runFromGrid('retry', control, [`{${id(1).toUpperCase()}}`, id(2), id(3)]);

    expect(dialogs().confirmDialogCalls).toHaveLength(1);
    expect(run.results).toEqual([
      { id: id(1), outcome: 'done' },
      { id: id(2), outcome: 'done' },
      { id: id(3), outcome: 'skipped', detail: 'status is Acked; Retry needs Failed' },
    ]);
    expect(store.rows.get(id(1))).toEqual(expect.objectContaining({ status: Pending, [col.attempts]: 0, [col.nextAttemptOn]: null }));
    expect(store.rows.get(id(3))?.status).toBe(Acked);
    const summary = dialogs().alertDialogCalls[0].alertStrings.text;
    expect(summary).toMatch(/^Retry: 2 done, 1 skipped\./);
    expect(summary).toContain(`${id(3)}: skipped, status is Acked`);
    expect(control.refresh).toHaveBeenCalled();
  });

  it('Replay: DeadLettered, Published and Acked go back to Pending with replay count + 1, answer and error cleared', async () => {
    store.add(id(1), DeadLettered, 0).add(id(2), Published, 2).add(id(3), Acked, 0);
    await runFromGrid('replay', grid([]), [id(1), id(2), id(3)]);
    expect(store.rows.get(id(1))).toEqual(expect.objectContaining({ status: Pending, replayCount: 1 }));
    expect(store.rows.get(id(2))).toEqual(expect.objectContaining({ status: Pending, replayCount: 3 }));
    expect(store.rows.get(id(3))).toEqual(expect.objectContaining({ status: Pending, replayCount: 1 }));
    // The contract's patch, as sent: what made the row look answered is cleared (see contract/src/operatorActions.ts).
    expect(store.updates.find((u) => u.id === id(1))?.patch).toEqual(expect.objectContaining({ [col.ackedOn]: null, [col.lastError]: null, [col.attempts]: 0 }));
  });

  it('Cancel: Pending, Failed and DeadLettered become Cancelled', async () => {
    store.add(id(1), Pending).add(id(2), Failed).add(id(3), DeadLettered);
    await runFromGrid('cancel', grid([]), [id(1), id(2), id(3)]);
    expect([1, 2, 3].map((n) => store.rows.get(id(n))?.status)).toEqual([Cancelled, Cancelled, Cancelled]);
  });

  it('declining the confirmation changes nothing', async () => {
    store.add(id(1), Failed);
    jest.spyOn(Xrm.Navigation, 'openConfirmDialog').mockResolvedValue({ confirmed: false });
    const control = grid([]);
    const run = await runFromGrid('retry', control, [id(1)]);
    expect(run.confirmed).toBe(false);
    expect(store.updates).toEqual([]);
    expect(control.refresh).not.toHaveBeenCalled();
  });

  it('a row the publisher changed meanwhile is reported, not overwritten (no status regression)', async () => {
    store.add(id(1), Pending).add(id(2), Pending);
    store.beforeUpdate = (rowId, row) => {
      if (rowId === id(1)) Object.assign(row, { status: Published, version: row.version + 1 });
    };
    const run = await runFromGrid('cancel', grid([]), [id(1), id(2)]);
    expect(run.results.map((r) => r.outcome)).toEqual(['changed', 'done']);
    expect(store.rows.get(id(1))?.status).toBe(Published);
    expect(store.rows.get(id(2))?.status).toBe(Cancelled);
  });

  it('one bad row never stops the rest: large selections show progress and every row gets a result', async () => {
    const ids = Array.from({ length: 40 }, (_, i) => id(i + 1));
    ids.forEach((rowId) => store.add(rowId, Failed));
    store.failOn.add(ids[5]);
    store.rows.delete(ids[7]);
    const run = await runFromGrid('retry', grid([]), ids);
    expect(run.results).toHaveLength(40);
    expect(run.results[5]).toEqual({ id: ids[5], outcome: 'failed', detail: `network error reading ${ids[5]}` });
    expect(run.results[7]).toEqual(expect.objectContaining({ outcome: 'missing' }));
    expect(run.results.filter((r) => r.outcome === 'done')).toHaveLength(38);
    expect(progress[0]).toBe('Retry: 0 of 40');
    expect(progress[progress.length - 1]).toBe('Retry: 40 of 40');
    expect(closed).toBe(1);
    expect(dialogs().alertDialogCalls[0].alertStrings.text).toMatch(/^Retry: 38 done, 1 missing, 1 failed\./);
  });

  it('small selections do not flash a progress indicator', async () => {
    store.add(id(1), Failed);
    await runFromGrid('retry', grid([]), [id(1)]);
    expect(progress).toEqual([]);
  });

  it('form: runs on the open row and refreshes the form', async () => {
    const { formContext } = createOutboxMessageForm({ id: `{${id(4)}}`, status: DeadLettered });
    store.add(id(4), DeadLettered, 1);
    const refresh = jest.fn().mockResolvedValue(undefined);
    formContext.data.refresh = refresh;
    jest.spyOn(formContext.data.entity, 'getIsDirty').mockReturnValue(false);
    const run = await runFromForm('replay', formContext);
    expect(run.results).toEqual([{ id: id(4), outcome: 'done' }]);
    expect(store.rows.get(id(4))).toEqual(expect.objectContaining({ status: Pending, replayCount: 2 }));
    expect(refresh).toHaveBeenCalledWith(false);
  });

  it('form: refuses to run over unsaved changes', async () => {
    const { formContext } = createOutboxMessageForm({ id: `{${id(4)}}`, status: Failed });
    store.add(id(4), Failed);
    jest.spyOn(formContext.data.entity, 'getIsDirty').mockReturnValue(true);
    const run = await runFromForm('retry', formContext);
    expect(run.confirmed).toBe(false);
    expect(store.updates).toEqual([]);
    expect(dialogs().alertDialogCalls[0].alertStrings.text).toMatch(/unsaved changes/);
  });
});
