/**
 * @jest-environment node
 */
// The monitor's buttons and the command bar (webresources) must enable on exactly the same statuses and write exactly
// the same columns. The rules live in two pure modules (the control bundle stays free of the web resources' code);
// this test fails as soon as they drift apart.
import { OutboxStatus } from '@dataverse-outbox/contract';
import { OutboxCommandNames, canRunOn, canRunOnAll, transitionPatch } from '@dataverse-outbox/webresources/status-rules';
import { actionUpdate, canRunOnSelection, isActionAllowed, outboxActions } from '../OutboxMonitor/core/actions';

const statuses: (number | undefined)[] = [...Object.values(OutboxStatus), 999, undefined];

it('knows the same actions', () => {
  expect([...outboxActions].sort()).toEqual([...OutboxCommandNames].sort());
});

it.each(outboxActions)('%s is enabled on the same statuses', (action) => {
  for (const status of statuses) expect([status, isActionAllowed(action, status)]).toEqual([status, canRunOn(action, status)]);
  for (const a of statuses) {
    for (const b of statuses) expect(canRunOnSelection(action, [a, b])).toBe(canRunOnAll(action, [a, b]));
  }
  expect(canRunOnSelection(action, [])).toBe(canRunOnAll(action, []));
});

it.each(outboxActions)('%s writes the same columns', (action) => {
  for (const replayCount of [0, 1, 7]) expect(actionUpdate(action, { replayCount })).toEqual(transitionPatch(action, replayCount));
});
