import { DefaultButton, Dialog, DialogFooter, DialogType, MessageBar, MessageBarType, PrimaryButton, Spinner, SpinnerSize } from '@fluentui/react';
import * as React from 'react';
import { actionAllowedFrom, actionLabels, canRunOnSelection, outboxActions, type OutboxAction } from '../core/actions';
import { describeError } from '../core/format';
import type { OutboxRow } from '../core/rows';
import type { ActionResult } from '../core/services';
import { statusLabels, statusNameOf, statusValueOf } from '../core/status';

export interface ActionsProps {
  selectedRows: readonly OutboxRow[];
  runAction: (action: OutboxAction, rows: readonly { id: string; name: string }[]) => Promise<ActionResult[]>;
  /** Called after an action ran (whatever the per-row outcome) and by the Refresh button. */
  onRefresh: () => void;
}

interface Outcome {
  action: OutboxAction;
  results: readonly ActionResult[];
  error?: string;
}

const listLimit = 10;

function allowedText(action: OutboxAction): string {
  return actionAllowedFrom[action].map((v) => statusLabels[statusNameOf(v) ?? 'Pending']).join(' or ');
}

/** Retry / Replay / Cancel on the selected rows, with a confirmation and a result per row. */
export const Actions = React.memo(function Actions({ selectedRows, runAction, onRefresh }: ActionsProps): React.ReactElement {
  const [confirming, setConfirming] = React.useState<OutboxAction | undefined>(undefined);
  const [running, setRunning] = React.useState<OutboxAction | undefined>(undefined);
  const [outcome, setOutcome] = React.useState<Outcome | undefined>(undefined);

  const statuses = React.useMemo(() => selectedRows.map((r) => statusValueOf(r.status)), [selectedRows]);
  const targets = React.useMemo(() => selectedRows.map((r) => ({ id: r.id, name: r.name ?? r.id })), [selectedRows]);

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

  return (
    <div>
      <div role="toolbar" aria-label="Outbox actions" style={{ display: 'flex', flexWrap: 'wrap', gap: 8, alignItems: 'center' }}>
        {outboxActions.map((action) => {
          const enabled = running === undefined && canRunOnSelection(action, statuses);
          const label = actionLabels[action].verb;
          return (
            <DefaultButton
              key={action}
              text={label}
              disabled={!enabled}
              data-action={action}
              ariaLabel={`${label} selected rows`}
              title={enabled ? actionLabels[action].explain : `Select only ${allowedText(action)} rows to ${label.toLowerCase()}`}
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
            <li key={t.id}>{t.name}</li>
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
            {outcome.error ? <div>{outcome.error}</div> : null}
            <ul style={{ margin: 0, paddingLeft: 18 }}>
              {outcome.results.map((r) => (
                <li key={r.id} data-result={r.ok ? 'ok' : 'failed'}>
                  {r.name}: {r.message}
                </li>
              ))}
            </ul>
          </div>
        </MessageBar>
      ) : null}
    </div>
  );
});
Actions.displayName = 'Actions';
