// Outbox statuses as the monitor shows them. Values and order come from the contract (one source of truth).
import { OutboxStatus, outboxStatusNames, type OutboxStatusName, type OutboxStatusValue } from '@dataverse-outbox/contract';

export type { OutboxStatusName, OutboxStatusValue };

/** Display order: the contract's (the life of a row, then the states that need an operator). */
export const statusOrder: readonly OutboxStatusName[] = outboxStatusNames;

export const statusLabels: Readonly<Record<OutboxStatusName, string>> = {
  Pending: 'Pending',
  Published: 'Published',
  Acked: 'Acked',
  Failed: 'Failed',
  DeadLettered: 'Dead-lettered',
  Cancelled: 'Cancelled',
};

const nameByValue = new Map<number, OutboxStatusName>(statusOrder.map((name) => [OutboxStatus[name], name]));

/** A status cell as read from a row: known, empty, or a value this version does not know (shown, never hidden). */
export type StatusReading =
  | { kind: 'known'; value: OutboxStatusValue; name: OutboxStatusName }
  | { kind: 'missing' }
  | { kind: 'unknown'; raw: string };

export function statusNameOf(value: number): OutboxStatusName | undefined {
  return nameByValue.get(value);
}

export function readStatus(raw: unknown): StatusReading {
  if (raw === null || raw === undefined || raw === '') return { kind: 'missing' };
  const value = typeof raw === 'number' ? raw : typeof raw === 'string' && /^\d+$/.test(raw.trim()) ? Number(raw) : NaN;
  const name = Number.isInteger(value) ? nameByValue.get(value) : undefined;
  if (name === undefined) return { kind: 'unknown', raw: typeof raw === 'string' ? raw : JSON.stringify(raw) };
  return { kind: 'known', value: OutboxStatus[name], name };
}

export function statusValueOf(reading: StatusReading): OutboxStatusValue | undefined {
  return reading.kind === 'known' ? reading.value : undefined;
}
