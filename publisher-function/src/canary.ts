// The canary runner's adapters over Dataverse: the row is written like any producer's (the contract's one row
// builder, one create), and read back through the outbox store. The runner itself is core/canary.ts.
import { randomUUID } from 'node:crypto';
import { buildOutboxRow, OutboxMessage } from '@dataverse-outbox/contract';
import type { DataverseClient } from '@dataverse-outbox/web-api';
import type { DataverseOutboxStore } from './dataverse/outboxStore';
import { runCanary, type CanaryOptions, type CanaryPorts, type CanaryResult } from './core/canary';

export { describeCanary, runCanary } from './core/canary';
export type { CanaryOptions, CanaryPorts, CanaryResult } from './core/canary';

export function dataverseCanaryPorts(client: DataverseClient, store: DataverseOutboxStore): CanaryPorts {
  return {
    async write(m) {
      const row = buildOutboxRow({ ...m, name: `canary ${m.payload.sentAt}` }, { newId: randomUUID });
      await client.create(OutboxMessage.entitySetName, row.record);
      return row.rowId;
    },
    async read(rowId) {
      return (await store.readByIds([rowId]))[0];
    },
    now: () => new Date(),
    sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
    newId: randomUUID,
  };
}

/** Runs one canary against a Dataverse environment. */
export function runDataverseCanary(client: DataverseClient, store: DataverseOutboxStore, options: CanaryOptions): Promise<CanaryResult> {
  return runCanary(dataverseCanaryPorts(client, store), options);
}
