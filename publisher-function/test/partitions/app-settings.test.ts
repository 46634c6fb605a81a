// The partition app settings: hostile values are refused by name (never echoing a token), good ones parsed.
import { ServiceBusClient } from '@azure/service-bus';
import { createPartitionedPublisher, DataverseClient, isOutboxError, readAppSettings } from '../../src';
import { partitionClientsFromAppSettings } from '../../src/bootstrap';
import { parseSettings } from '../../src/core/settings';

const base = { DATAVERSE_URL: 'https://contoso.crm.dynamics.com', SERVICEBUS_NAMESPACE: 'contoso.servicebus.windows.net' };

function problems(env: Record<string, string>): string[] {
  try {
    readAppSettings({ ...base, ...env });
    return [];
  } catch (e) {
    if (!isOutboxError(e)) throw e;
    return (e.details as string[] | undefined) ?? [e.message];
  }
}

describe('partition app settings', () => {
  it('parses the share cap and the per-partition identities (spaces and empty entries ignored)', () => {
    const app = readAppSettings({
      ...base,
      OUTBOX_MAX_PARTITIONS_PER_INSTANCE: '2',
      DATAVERSE_PARTITION_CLIENT_IDS: ' 6f1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d , ,7a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d',
    });
    expect(app.maxPartitionsPerInstance).toBe(2);
    expect(app.partitionClientIds).toEqual(['6f1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d', '7a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d']);
    expect(readAppSettings(base)).toMatchObject({ maxPartitionsPerInstance: undefined, partitionClientIds: [], partitionTokens: [] });
  });

  it.each([
    ['OUTBOX_MAX_PARTITIONS_PER_INSTANCE', '0', /OUTBOX_MAX_PARTITIONS_PER_INSTANCE must be a whole number from 1 to 64, got "0"/],
    ['OUTBOX_MAX_PARTITIONS_PER_INSTANCE', '65', /from 1 to 64/],
    ['OUTBOX_MAX_PARTITIONS_PER_INSTANCE', '1e1', /from 1 to 64/],
    ['OUTBOX_MAX_PARTITIONS_PER_INSTANCE', ' 3 x', /from 1 to 64/],
    ['DATAVERSE_PARTITION_CLIENT_IDS', '6f1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d,not-a-guid', /entry 2 is not a client id \(a GUID\)/],
    ['DATAVERSE_PARTITION_CLIENT_IDS', "{6f1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d}' or 1=1", /entry 1 is not a client id/],
  ])('hostile: %s=%j is refused by name', (name, value, expected) => {
    expect(problems({ [name]: value }).join('\n')).toMatch(expected);
  });

  it('hostile: a partition token with a space or a control character is refused without repeating it', () => {
    for (const token of ['good,bad token', 'tok\u0000en', 'ok,\u202eevil']) {
      const text = problems({ DATAVERSE_PARTITION_TOKENS: token }).join('\n');
      expect(text).toMatch(/DATAVERSE_PARTITION_TOKENS entry \d must be a bearer token/);
      expect(text).not.toContain('bad token');
      expect(text).not.toContain('evil');
    }
  });

  it('hostile: client ids and tokens together are refused (which identity would a partition use?)', () => {
    expect(problems({ DATAVERSE_PARTITION_CLIENT_IDS: '6f1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d', DATAVERSE_PARTITION_TOKENS: 'a' }).join('\n')).toMatch(/not both/);
  });

  it('gives partition i the identity i mod n, one client per identity', async () => {
    const app = readAppSettings({ ...base, DATAVERSE_PARTITION_TOKENS: 'user-a,user-b' });
    const clients = partitionClientsFromAppSettings(app)!;
    expect(clients.forPartition(0)).toBe(clients.forPartition(2));
    expect(clients.forPartition(1)).toBe(clients.forPartition(3));
    expect(clients.forPartition(0)).not.toBe(clients.forPartition(1));
    await clients.close();
    expect(partitionClientsFromAppSettings(readAppSettings(base))).toBeUndefined();
  });
});

describe('scope names with partitions', () => {
  it('hostile: a 200-character scope (valid for one partition) is refused by name with several: its lease names would pass 200', async () => {
    const scope = `s${'x'.repeat(199)}`;
    const dataverse = new DataverseClient('http://127.0.0.1:9', { token: 't' }, { retryOptions: { maxRetries: 0 } });
    const serviceBus = new ServiceBusClient('Endpoint=sb://127.0.0.1:9/;SharedAccessKeyName=k;SharedAccessKey=v;UseDevelopmentEmulator=true');
    const p = createPartitionedPublisher({ dataverse, serviceBus, scope, appSettings: {} });
    let caught: unknown;
    await p.balance(parseSettings({}, { OUTBOX_PARTITION_COUNT: '4' })).catch((e: unknown) => (caught = e));
    expect(isOutboxError(caught) && caught.code).toBe('InvalidSettings');
    expect((caught as Error).message).toMatch(/OUTBOX_SCOPE is 200 characters, too long for partitioned publishing: .* at most 178 characters/);
    await p.close();
    await serviceBus.close();
    await dataverse.close();
  });
});
