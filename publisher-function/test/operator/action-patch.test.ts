// The CLI writes exactly the contract's column patch: the contract's patch, turned into the engine's row changes and
// back into the record the Dataverse store sends, is the same object for every action (a column the mapping dropped or
// changed would show here).
import { OutboxMessage, OutboxStatus, operatorActionPatch, operatorActions, type OperatorActionPatch } from '@dataverse-outbox/contract';
import { recordFromChanges } from '../../src/dataverse/outboxStore';
import { rowChangesFromPatch } from '../../src/operator';

const col = OutboxMessage.columns;

it.each(operatorActions)('%s: the store writes exactly the contract\'s columns', (action) => {
  for (const replayCount of [0, 1, 7]) {
    const patch = operatorActionPatch(action, replayCount);
    expect(recordFromChanges(rowChangesFromPatch(patch))).toEqual(patch);
  }
});

it('refuses a patch value the engine could not write as meant, rather than dropping it', () => {
  const bad: OperatorActionPatch[] = [
    { [col.status]: 42 },
    { [col.attempts]: null },
    { [col.ackedOn]: 5 },
    { [col.lastError]: 0 },
  ];
  for (const patch of bad) expect(() => rowChangesFromPatch(patch)).toThrow(TypeError);
  expect(rowChangesFromPatch({ [col.status]: OutboxStatus.Cancelled })).toEqual({ status: OutboxStatus.Cancelled });
});
