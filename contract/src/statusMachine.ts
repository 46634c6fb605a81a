// The spec's status machine. Every write of obx_status in the engine goes through canTransition, so a status never
// moves backwards (invariant 6).
import { OutboxStatus, type OutboxStatusName, type OutboxStatusValue } from './generated/names';

const { Pending, Published, Acked, Failed, DeadLettered, Cancelled } = OutboxStatus;

const allowed: ReadonlyMap<OutboxStatusValue, readonly OutboxStatusValue[]> = new Map<OutboxStatusValue, OutboxStatusValue[]>([
  // Pending -> Acked / DeadLettered covers an acknowledgement recorded before the Published mark landed:
  // the row was sent, so it passes through Published in one step.
  [Pending, [Published, Acked, DeadLettered, Failed, Cancelled]],
  // Published -> Pending is an operator replay (obx_replaycount + 1).
  [Published, [Acked, DeadLettered, Pending]],
  [Acked, [Pending]], // operator replay of an acknowledged message
  [Failed, [Pending, Cancelled]],
  [DeadLettered, [Pending, Cancelled]],
  [Cancelled, []],
]);

/** Operator-driven moves back to Pending; the engine itself never makes them. */
const operatorOnly = new Set<string>([`${Published}>${Pending}`, `${Acked}>${Pending}`, `${Failed}>${Pending}`, `${DeadLettered}>${Pending}`]);

export function canTransition(from: OutboxStatusValue, to: OutboxStatusValue, by: 'engine' | 'operator' = 'engine'): boolean {
  if (!(allowed.get(from) ?? []).includes(to)) return false;
  return by === 'operator' || !operatorOnly.has(`${from}>${to}`);
}

/** Terminal for the engine: nothing but an operator moves the row on. */
export function isFinal(status: OutboxStatusValue): boolean {
  return status !== Pending;
}

/**
 * Every status name in the choice's order (the life of a row, then the states that need an operator): the one list
 * that screens, counts and help texts iterate.
 */
export const outboxStatusNames: readonly OutboxStatusName[] = Object.keys(OutboxStatus) as OutboxStatusName[];

const names = new Map<number, OutboxStatusName>(
  (Object.entries(OutboxStatus) as [OutboxStatusName, OutboxStatusValue][]).map(([k, v]) => [v, k]),
);

export function statusName(status: number): OutboxStatusName | `Unknown(${number})` {
  return names.get(status) ?? `Unknown(${status})`;
}

export function parseStatusName(text: string): OutboxStatusValue | undefined {
  const hit = outboxStatusNames.find((k) => k.toLowerCase() === text.toLowerCase());
  return hit === undefined ? undefined : OutboxStatus[hit];
}

export function isStatusValue(v: unknown): v is OutboxStatusValue {
  return typeof v === 'number' && names.has(v);
}
