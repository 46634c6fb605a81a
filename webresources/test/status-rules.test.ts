import { OutboxMessage, OutboxStatus } from '@dataverse-outbox/contract';
import { canRunOn, canRunOnAll, OutboxCommandNames, transitionPatch, type OutboxCommandName } from '../src/status-rules';

const col = OutboxMessage.columns;
const { Pending, Published, Acked, Failed, DeadLettered, Cancelled } = OutboxStatus;

// The full matrix from the spec's status machine; the PCF monitor's buttons must follow the same table.
const expected: Record<OutboxCommandName, number[]> = {
  retry: [Failed],
  replay: [DeadLettered, Published],
  cancel: [Pending, Failed, DeadLettered],
};

describe('status rules (shared by commands.js, the form and the PCF monitor)', () => {
  const all = [Pending, Published, Acked, Failed, DeadLettered, Cancelled];
  for (const command of OutboxCommandNames) {
    for (const status of all) {
      const allowed = expected[command].includes(status);
      it(`${command} is ${allowed ? 'enabled' : 'disabled'} for status ${status}`, () => {
        expect(canRunOn(command, status)).toBe(allowed);
      });
    }
    it(`${command} is disabled for an unknown or missing status`, () => {
      expect(canRunOn(command, null)).toBe(false);
      expect(canRunOn(command, undefined)).toBe(false);
      expect(canRunOn(command, 42)).toBe(false);
    });
  }

  it('grid: enabled only when every selected row qualifies, never for an empty selection', () => {
    expect(canRunOnAll('retry', [Failed, Failed])).toBe(true);
    expect(canRunOnAll('retry', [Failed, Acked])).toBe(false);
    expect(canRunOnAll('replay', [Published, DeadLettered])).toBe(true);
    expect(canRunOnAll('cancel', [Pending, Failed, DeadLettered])).toBe(true);
    expect(canRunOnAll('cancel', [Pending, Cancelled])).toBe(false);
    expect(canRunOnAll('cancel', [])).toBe(false);
    expect(canRunOnAll('retry', [Failed, null])).toBe(false);
  });

  it('retry and replay reset the publish cycle; replay adds one to the replay count; cancel only sets the status', () => {
    expect(transitionPatch('retry', 3)).toEqual({ [col.status]: Pending, [col.attempts]: 0, [col.nextAttemptOn]: null });
    expect(transitionPatch('replay', 2)).toEqual({ [col.status]: Pending, [col.attempts]: 0, [col.nextAttemptOn]: null, [col.replayCount]: 3 });
    expect(transitionPatch('replay', null)).toEqual(expect.objectContaining({ [col.replayCount]: 1 }));
    expect(transitionPatch('cancel', 5)).toEqual({ [col.status]: Cancelled });
  });
});
