// The operator actions' rules, pinned in full: the CLI, the command bar, the form and the monitor all run these, so a
// change here changes every one of them (and must change this table too).
import {
  OutboxMessage,
  OutboxStatus,
  allowedFromText,
  canRunOn,
  canRunOnAll,
  canTransition,
  describeStatus,
  isOperatorAction,
  operatorActionPatch,
  operatorActionRules,
  operatorActions,
  type OperatorAction,
  type OutboxStatusValue,
} from '../src';

const col = OutboxMessage.columns;
const { Pending, Published, Acked, Failed, DeadLettered, Cancelled } = OutboxStatus;
const all: OutboxStatusValue[] = [Pending, Published, Acked, Failed, DeadLettered, Cancelled];

const expected: Record<OperatorAction, OutboxStatusValue[]> = {
  retry: [Failed],
  replay: [DeadLettered, Published, Acked],
  cancel: [Pending, Failed, DeadLettered],
};

describe('which statuses each action starts from', () => {
  for (const action of operatorActions) {
    for (const status of all) {
      const allowed = expected[action].includes(status);
      it(`${action} is ${allowed ? 'allowed' : 'refused'} from ${describeStatus(status)}`, () => {
        expect(canRunOn(action, status)).toBe(allowed);
      });
    }
    it(`${action} is refused for an unknown, missing or non-number status`, () => {
      for (const status of [null, undefined, 42, '612000003', NaN]) expect(canRunOn(action, status)).toBe(false);
    });
  }

  it('knows exactly retry, replay and cancel', () => {
    expect([...operatorActions]).toEqual(['retry', 'replay', 'cancel']);
    for (const a of operatorActions) expect(isOperatorAction(a)).toBe(true);
    for (const v of ['Retry', 'delete', '', undefined, 1]) expect(isOperatorAction(v)).toBe(false);
  });
});

describe('the actions are the status machine\'s operator moves, each exactly once', () => {
  it('every move an action makes is one canTransition allows an operator', () => {
    for (const action of operatorActions) {
      const { allowedFrom, targetStatus } = operatorActionRules[action];
      for (const from of allowedFrom) expect([action, from, canTransition(from, targetStatus, 'operator')]).toEqual([action, from, true]);
    }
  });

  it('every operator move into Pending or Cancelled is offered by exactly one action', () => {
    for (const to of [Pending, Cancelled]) {
      for (const from of all) {
        const offeredBy = operatorActions.filter((a) => operatorActionRules[a].targetStatus === to && canRunOn(a, from));
        expect([from, to, offeredBy.length]).toEqual([from, to, canTransition(from, to, 'operator') ? 1 : 0]);
      }
    }
  });
});

describe('selection rule: every selected row qualifies', () => {
  it('is true only for a non-empty selection in which every row allows the action', () => {
    expect(canRunOnAll('retry', [Failed, Failed])).toBe(true);
    expect(canRunOnAll('retry', [Failed, Acked])).toBe(false);
    expect(canRunOnAll('replay', [Published, DeadLettered, Acked])).toBe(true);
    expect(canRunOnAll('replay', [DeadLettered, Failed])).toBe(false);
    expect(canRunOnAll('cancel', [Pending, Failed, DeadLettered])).toBe(true);
    expect(canRunOnAll('cancel', [Pending, Cancelled])).toBe(false);
    expect(canRunOnAll('cancel', [])).toBe(false);
    expect(canRunOnAll('retry', [Failed, null])).toBe(false);
    expect(canRunOnAll('retry', [Failed, undefined])).toBe(false);
  });
});

describe('the columns each action writes', () => {
  it('retry: a fresh publish cycle of the same message, its old error cleared, its acknowledgement kept', () => {
    expect(operatorActionPatch('retry', 3)).toEqual({ [col.status]: Pending, [col.attempts]: 0, [col.nextAttemptOn]: null, [col.lastError]: null });
  });

  it('replay: a fresh cycle as a new delivery: clears what makes the re-sent row look answered, replay count + 1', () => {
    expect(operatorActionPatch('replay', 2)).toEqual({
      [col.status]: Pending,
      [col.attempts]: 0,
      [col.nextAttemptOn]: null,
      [col.lastError]: null,
      [col.ackedOn]: null,
      [col.replayCount]: 3,
    });
  });

  it('replay counts from 0 when the current count is missing or not a usable number', () => {
    for (const current of [0, null, undefined, -4, NaN, Infinity, '2']) expect(operatorActionPatch('replay', current)[col.replayCount]).toBe(1);
    expect(operatorActionPatch('replay', 6.7)[col.replayCount]).toBe(7);
  });

  it('cancel: the status only', () => {
    expect(operatorActionPatch('cancel', 5)).toEqual({ [col.status]: Cancelled });
  });

  it('every patch moves the row to its action\'s target status', () => {
    for (const action of operatorActions) expect(operatorActionPatch(action, 0)[col.status]).toBe(operatorActionRules[action].targetStatus);
  });
});

describe('words for people', () => {
  it('names statuses, and says so when there is none or it is not known', () => {
    expect(describeStatus(DeadLettered)).toBe('DeadLettered');
    expect(describeStatus(null)).toBe('empty');
    expect(describeStatus(undefined)).toBe('empty');
    expect(describeStatus(999)).toBe('Unknown(999)');
    expect(describeStatus('x')).toBe('unreadable');
  });

  it('lists the statuses an action needs', () => {
    expect(allowedFromText('retry')).toBe('Failed');
    expect(allowedFromText('replay')).toBe('DeadLettered, Published or Acked');
    expect(allowedFromText('cancel')).toBe('Pending, Failed or DeadLettered');
    expect(operatorActions.map((a) => operatorActionRules[a].label)).toEqual(['Retry', 'Replay', 'Cancel']);
  });
});
