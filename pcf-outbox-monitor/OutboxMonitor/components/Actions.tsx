import { DefaultButton, Dialog, DialogFooter, DialogType, MessageBar, MessageBarType, PrimaryButton, Spinner, SpinnerSize } from '@fluentui/react';
import * as React from 'react';
import { canRunOnAll, operatorActionRules, operatorActions, type OperatorAction } from '@dataverse-outbox/contract';
import { actionLabels } from '../core/actions';
import { describeError, formatCount, truncate } from '../core/format';
import type { OutboxRow } from '../core/rows';
import type { ActionResult, ActionTarget } from '../core/runAction';
import { statusLabels, statusNameOf, statusValueOf } from '../core/status';

export interface ActionsProps {
  selectedRows: readonly OutboxRow[];
  runAction: (action: OperatorAction, rows: readonly ActionTarget[]) => Promise<ActionResult[]>;
  /** Called after an action ran (whatever the per-row outcome) and by the Refresh button. */
  onRefresh: () => void;
  /** Why actions cannot run in this host (no Dataverse Web API); undefined when they can. */
  unavailable?: string | undefined;
}

interface Outcome {
  action: OperatorAction;
  results: readonly ActionResult[];
  error?: string;
}

const listLimit = 10;
/** Result lines shown; beyond this the rows that were not changed come first and the rest is counted. */
const resultLimit = 50;
const nameLength = 120;

/** The lines to show: every result for small runs; otherwise the rows not changed first, up to the limit. */
function shownResults(results: readonly ActionResult[]): { shown: readonly ActionResult[]; hiddenDone: number; hiddenOther: number } {
  if (results.length <= resultLimit) return { shown: results, hiddenDone: 0, hiddenOther: 0 };
  const shown = [...results.filter((r) => !r.ok), ...results.filter((r) => r.ok)].slice(0, resultLimit);
  const shownDone = shown.filter((r) => r.ok).length;
  const done = results.filter((r) => r.ok).length;
  return { shown, hiddenDone: done - shownDone, hiddenOther: results.length - done - (shown.length - shownDone) };
}

function allowedText(action: OperatorAction): string {
  return operatorActionRules[action].allowedFrom.map((v) => statusLabels[statusNameOf(v) ?? 'Pending']).join(' or ');
}

/** Retry / Replay / Cancel on the selected rows, with a confirmation and a result per row. */
export const Actions = React.memo(function Actions({ selectedRows, runAction, onRefresh, unavailable }: ActionsProps): React.ReactElement {
  const [confirming, setConfirming] = React.useState<OperatorAction | undefined>(undefined);
  const [running, setRunning] = React.useState<OperatorAction | undefined>(undefined);
  const [outcome, setOutcome] = React.useState<Outcome | undefined>(undefined);

  const statuses = React.useMemo(() => selectedRows.map((r) => statusValueOf(r.status)), [selectedRows]);
  // The status each row showed when the operator chose it: a row that moved on since is a conflict, not a target.
  const targets = React.useMemo<ActionTarget[]>(
    () => selectedRows.map((r) => ({ id: r.id, name: r.name ?? r.id, seenStatus: statusValueOf(r.status) })),
    [selectedRows],
  );

  const confirm = React.useCallback(() => {
    const action = confirming;
    if (!action) return;
    setConfirming(undefined);
    setRunning(action);
    runAction(action, targets).then(
      (results) => setOutcome({ action, results }),
      (error: unknown) => setOutcome({ action, results: [], error: describeError(error) }),
    ).finally(() => {
      setRunning(undefined);
      onRefresh();
    });
  }, [confirming, runAction, targets, onRefresh]);

  const okCount = outcome ? outcome.results.filter((r) => r.ok).length : 0;
  const failedCount = outcome ? outcome.results.length - okCount : 0;
  const conflictCount = outcome ? outcome.results.filter((r) => r.outcome === 'conflict').length : 0;
  const lines = outcome ? shownResults(outcome.results) : { shown: [], hiddenDone: 0, hiddenOther: 0 };

  return (
    <div>
      <div role="toolbar" aria-label="Outbox actions" style={{ display: 'flex', flexWrap: 'wrap', gap: 8, alignItems: 'center' }}>
        {operatorActions.map((action) => {
          const enabled = unavailable === undefined && running === undefined && canRunOnAll(action, statuses);
          const label = actionLabels[action].verb;
          const why = unavailable !== undefined ? `${label} needs the Dataverse Web API: ${unavailable}` : `Select only ${allowedText(action)} rows to ${label.toLowerCase()}`;
          return (
            <DefaultButton
              key={action}
              text={label}
              disabled={!enabled}
              data-action={action}
              ariaLabel={`${label} selected rows`}
              title={enabled ? actionLabels[action].explain : why}
              onClick={() => setConfirming(action)}
            />
          );
        })}
        <DefaultButton text="Refresh" ariaLabel="Refresh the outbox" disabled={running !== undefined} onClick={onRefresh} />
        {running ? <Spinner size={SpinnerSize.small} label={`${actionLabels[running].verb} in progress…`} labelPosition="right" /> : null}
        <span style={{ fontSize: 12 }} aria-live="polite">
          {selectedRows.length > 0 ? `${selectedRows.length} selected` : ''}
        </span>
      </div>

      <Dialog
        hidden={confirming === undefined}
        onDismiss={() => setConfirming(undefined)}
        dialogContentProps={{
          type: DialogType.normal,
          title: confirming ? `${actionLabels[confirming].verb} ${targets.length} row${targets.length === 1 ? '' : 's'}?` : '',
          subText: confirming ? actionLabels[confirming].explain : '',
        }}
        modalProps={{ isBlocking: true }}
      >
        <ul aria-label="Rows to change" style={{ margin: 0, paddingLeft: 18 }}>
          {targets.slice(0, listLimit).map((t) => (
            <li key={t.id}>{truncate(t.name, nameLength)}</li>
          ))}
          {targets.length > listLimit ? <li>and {targets.length - listLimit} more</li> : null}
        </ul>
        <DialogFooter>
          <PrimaryButton text={confirming ? actionLabels[confirming].verb : 'OK'} onClick={confirm} data-confirm="" />
          <DefaultButton text="Go back" onClick={() => setConfirming(undefined)} />
        </DialogFooter>
      </Dialog>

      {outcome ? (
        <MessageBar
          messageBarType={outcome.error || okCount === 0 ? MessageBarType.error : failedCount > 0 ? MessageBarType.warning : MessageBarType.success}
          onDismiss={() => setOutcome(undefined)}
          dismissButtonAriaLabel="Close results"
          isMultiline
        >
          <div role="status" aria-label={`${actionLabels[outcome.action].verb} results`}>
            <strong>
              {actionLabels[outcome.action].verb}: {okCount} {actionLabels[outcome.action].done}
              {failedCount > 0 ? `, ${failedCount} not changed` : ''}
            </strong>
            {conflictCount > 0 ? (
              <div data-conflicts="">
                {conflictCount === 1 ? '1 row' : `${formatCount(conflictCount)} rows`} changed since you opened {conflictCount === 1 ? 'it' : 'them'}
                {' '}(the publisher or an acknowledgement moved {conflictCount === 1 ? 'it' : 'them'} on) and {conflictCount === 1 ? 'was' : 'were'} left as{' '}
                {conflictCount === 1 ? 'it is' : 'they are'}: the view is refreshed, check the new status and try again if still needed.
              </div>
            ) : null}
            {outcome.error ? <div>{outcome.error}</div> : null}
            <ul style={{ margin: 0, paddingLeft: 18 }}>
              {lines.shown.map((r, index) => (
                <li key={`${index}:${r.id}`} data-result={r.ok ? 'ok' : r.outcome}>
                  {r.name}: {r.message}
                </li>
              ))}
              {lines.hiddenOther > 0 ? <li>and {formatCount(lines.hiddenOther)} more rows not changed (select fewer rows to see each)</li> : null}
              {lines.hiddenDone > 0 ? <li>and {formatCount(lines.hiddenDone)} more rows {actionLabels[outcome.action].done}</li> : null}
            </ul>
          </div>
        </MessageBar>
      ) : null}
    </div>
  );
});
Actions.displayName = 'Actions';
