// Each web resource is a separate IIFE bundle; all of them hang their API off one global `Obx.Outbox` object,
// so loading commands.js after client.js (or in any order) must add to the namespace, never replace it.
type Namespace = Record<string, unknown>;

function globalObject(): Namespace {
  if (typeof globalThis !== 'undefined') return globalThis as unknown as Namespace;
  return self as unknown as Namespace;
}

/** Returns the `Obx.Outbox` object, creating it when missing. */
export function outboxNamespace(): Namespace {
  const root = globalObject();
  const obx = (root.Obx = (root.Obx as Namespace | undefined) ?? {}) as Namespace;
  return (obx.Outbox = (obx.Outbox as Namespace | undefined) ?? {}) as Namespace;
}

/** Adds `members` under `Obx.Outbox[.member]` and returns the object they were added to. */
export function registerOutboxMembers(members: Namespace, member?: string): Namespace {
  const outbox = outboxNamespace();
  let target = outbox;
  if (member) target = (outbox[member] = (outbox[member] as Namespace | undefined) ?? {}) as Namespace;
  for (const key of Object.keys(members)) target[key] = members[key];
  return target;
}
