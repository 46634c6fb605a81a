import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import {
  ChangeCheckpoint,
  MAX_PARTITION_COUNT,
  MESSAGE_FORMATS,
  OutboxLease,
  OutboxMessage,
  OutboxStatus,
  OutboxStatusChoice,
  PARTITION_SLOTS,
  parseMessageFormats,
  partitionCountProblem,
  SecurityRoles,
  Settings,
  SolutionNames,
} from '@dataverse-outbox/contract';
import { defaultSolutionSrcDir, isSolutionError, readSolutionModel, type SolutionModel, type TableModel } from '@dataverse-outbox/solution';

// The spec's columns (outbox-spec.md "Tables"): name -> [model type, max length].
const SPEC_MESSAGE_COLUMNS: Record<string, [string, number | undefined]> = {
  obx_name: ['string', 200],
  obx_messageid: ['string', 100],
  obx_target: ['string', 260],
  obx_eventtype: ['string', 200],
  obx_payload: ['memo', 1048576],
  obx_contenttype: ['string', 100],
  obx_correlationid: ['string', 100],
  obx_sessionkey: ['string', 128],
  obx_sourceentity: ['string', 64],
  obx_sourceid: ['string', 36],
  obx_sequence: ['autonumber', undefined],
  obx_status: ['picklist', undefined],
  obx_attempts: ['integer', undefined],
  obx_nextattempton: ['datetime', undefined],
  obx_lasterror: ['memo', 4000],
  obx_publishedon: ['datetime', undefined],
  obx_ackedon: ['datetime', undefined],
  obx_replaycount: ['integer', undefined],
  obx_expireson: ['datetime', undefined],
  obx_tracecontext: ['string', 512],
};

function table(model: SolutionModel, logicalName: string): TableModel {
  const found = model.tables.find((t) => t.logicalName === logicalName);
  if (!found) throw new Error(`no table ${logicalName}`);
  return found;
}

describe('readSolutionModel()', () => {
  const model = readSolutionModel();

  it('reads the solution identity and publisher of the spec', () => {
    expect(model.uniqueName).toBe('DataverseOutbox');
    expect(model.publisher).toEqual({ uniqueName: 'dataverseoutbox', customizationPrefix: 'obx', optionValuePrefix: 61200 });
    expect(model.version).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
    expect(SolutionNames.uniqueName).toBe(model.uniqueName);
  });

  it('has the outbox message table with every column of the spec, its alternate key and change tracking', () => {
    const message = table(model, OutboxMessage.logicalName);
    expect(message).toMatchObject({
      schemaName: 'obx_OutboxMessage',
      entitySetName: 'obx_outboxmessages',
      primaryIdAttribute: 'obx_outboxmessageid',
      primaryNameAttribute: 'obx_name',
      ownership: 'OrganizationOwned',
      changeTrackingEnabled: true,
    });
    for (const [name, [type, maxLength]] of Object.entries(SPEC_MESSAGE_COLUMNS)) {
      const column = message.columns.find((c) => c.logicalName === name);
      expect({ name, type: column?.type, maxLength: maxLength === undefined ? undefined : column?.maxLength }).toEqual({ name, type, maxLength });
      expect(column?.isSystem).toBe(false);
    }
    expect(message.columns.find((c) => c.logicalName === 'obx_messageid')?.required).toBe(true);
    expect(message.columns.find((c) => c.logicalName === 'obx_target')?.required).toBe(true);
    expect(message.columns.find((c) => c.logicalName === 'obx_sequence')?.autoNumberFormat).toMatch(/\{SEQNUM:\d+\}/);
    expect(message.alternateKeys).toEqual([{ logicalName: 'obx_messageidkey', schemaName: 'obx_MessageIdKey', columns: ['obx_messageid'] }]);
    const status = message.columns.find((c) => c.logicalName === 'obx_status');
    expect(status).toMatchObject({ optionSetName: 'obx_outboxstatus', defaultValue: OutboxStatus.Pending, options: Object.values(OutboxStatus) });
  });

  it('has the optional partition slot column, a whole number holding exactly the contract\'s slots (0 .. PARTITION_SLOTS - 1)', () => {
    const message = table(model, OutboxMessage.logicalName);
    const slot = message.columns.find((c) => c.logicalName === OutboxMessage.columns.partitionSlot);
    expect(slot).toMatchObject({ schemaName: 'obx_PartitionSlot', displayName: 'Partition Slot', type: 'integer', required: false, isSecured: true, minValue: 0, maxValue: PARTITION_SLOTS - 1 });
    // Empty is allowed and documented: rows of producers that know nothing of partitions.
    expect(slot?.description).toMatch(/default partition 0/);
    // The other whole-number columns keep the range of a real export.
    expect(message.columns.find((c) => c.logicalName === OutboxMessage.columns.attempts)).toMatchObject({ minValue: 0, maxValue: 2147483647 });
  });

  it('has the partition count setting: a Number, default 1 (one active publisher), which the contract accepts', () => {
    const variable = model.environmentVariables.find((v) => v.schemaName === Settings.PartitionCount.schemaName);
    expect(variable).toMatchObject({ type: 'Number', defaultValue: '1', appSetting: 'OUTBOX_PARTITION_COUNT', displayName: 'Outbox: partition count' });
    expect(partitionCountProblem(Number(variable?.defaultValue))).toBeUndefined();
    expect(variable?.description).toContain(`1-${MAX_PARTITION_COUNT}`);
  });

  it('has the message formats setting: JSON, default {} (every target in the default format), which the contract accepts', () => {
    const variable = model.environmentVariables.find((v) => v.schemaName === Settings.MessageFormats.schemaName);
    expect(variable).toMatchObject({ type: 'JSON', defaultValue: '{}', appSetting: 'OUTBOX_MESSAGE_FORMATS', displayName: 'Outbox: message formats' });
    expect(parseMessageFormats(variable?.defaultValue ?? '', 'default', [])).toEqual({ formats: new Map(), problems: [] });
    // The description names every format the contract knows.
    for (const format of MESSAGE_FORMATS) expect(variable?.description).toContain(format);
  });

  it('carries the system columns a real export has (organization-owned: no owner columns)', () => {
    const message = table(model, OutboxMessage.logicalName);
    const system = message.columns.filter((c) => c.isSystem).map((c) => c.logicalName).sort();
    expect(system).toEqual(
      [
        'createdby', 'createdon', 'createdonbehalfby', 'importsequencenumber', 'modifiedby', 'modifiedon', 'modifiedonbehalfby',
        'obx_outboxmessageid', 'organizationid', 'overriddencreatedon', 'statecode', 'statuscode', 'timezoneruleversionnumber',
        'utcconversiontimezonecode',
      ].sort(),
    );
    expect(message.columns.find((c) => c.logicalName === 'createdby')?.targets).toEqual(['systemuser']);
    expect(message.columns.find((c) => c.logicalName === 'statecode')?.options).toEqual([0, 1]);
  });

  it('has the lease table with the scope as alternate key', () => {
    const lease = table(model, OutboxLease.logicalName);
    expect(lease.columns.map((c) => c.logicalName)).toEqual(expect.arrayContaining(['obx_name', 'obx_owner', 'obx_leaseuntil']));
    expect(lease.alternateKeys.map((k) => k.columns)).toEqual([['obx_name']]);
    expect(lease.ownership).toBe('OrganizationOwned');
    expect(lease.changeTrackingEnabled).toBe(true);
  });

  it('has the change-tracking checkpoint table, written like the lease table, with the source name as alternate key', () => {
    const checkpoint = table(model, ChangeCheckpoint.logicalName);
    const columns = Object.fromEntries(checkpoint.columns.filter((c) => !c.isSystem).map((c) => [c.logicalName, [c.type, c.maxLength]]));
    expect(columns).toEqual({
      obx_name: ['string', 200],
      obx_table: ['string', 64],
      obx_deltatoken: ['memo', 10000],
      obx_lastsyncon: ['datetime', undefined],
      obx_lastresyncon: ['datetime', undefined],
      obx_resyncreason: ['memo', 4000],
      obx_resynccount: ['integer', undefined],
    });
    expect(checkpoint.alternateKeys.map((k) => k.columns)).toEqual([['obx_name']]);
    expect(checkpoint.ownership).toBe('OrganizationOwned');
    expect(checkpoint.entitySetName).toBe('obx_changecheckpoints');
    expect(Settings.ChangeTrackingSources).toEqual({ schemaName: 'obx_ChangeTrackingSources', type: 'JSON', defaultValue: '[]', appSetting: 'OUTBOX_CHANGE_TRACKING_SOURCES' });
  });

  it('has the global status choice with the 61200 prefix values of the spec', () => {
    expect(model.optionSets).toEqual([
      {
        name: OutboxStatusChoice.name,
        displayName: 'Outbox Status',
        options: [
          { value: 612000000, label: 'Pending' },
          { value: 612000001, label: 'Published' },
          { value: 612000002, label: 'Acked' },
          { value: 612000003, label: 'Failed' },
          { value: 612000004, label: 'Dead Lettered' },
          { value: 612000005, label: 'Cancelled' },
        ],
      },
    ]);
  });

  it('has every setting of the spec with its type, default and a description an admin can act on', () => {
    const bySchema = new Map(model.environmentVariables.map((v) => [v.schemaName, v]));
    for (const setting of Object.values(Settings)) {
      const variable = bySchema.get(setting.schemaName);
      expect(variable).toMatchObject({ type: setting.type, defaultValue: setting.defaultValue, appSetting: setting.appSetting });
      expect(variable?.description.length).toBeGreaterThan(40);
    }
    expect(model.environmentVariables).toHaveLength(Object.keys(Settings).length);
    expect(JSON.parse(bySchema.get('obx_HealthThresholds')?.defaultValue ?? '')).toEqual({ maxPendingAgeSeconds: 300, maxFailed: 0, maxDeadLettered: 0 });
  });

  it('has the three roles, none of which may delete outbox rows', () => {
    expect(model.roles.map((r) => r.name).sort()).toEqual(Object.values(SecurityRoles).sort());
    for (const role of model.roles) {
      expect(role.privileges.filter((p) => p.name.startsWith('prvDelete'))).toEqual([]);
    }
    const reader = model.roles.find((r) => r.name === SecurityRoles.Reader);
    expect(reader?.privileges.every((p) => p.name.startsWith('prvRead'))).toBe(true);
  });

  it('exposes the views of each table', () => {
    const names = table(model, OutboxMessage.logicalName).views.map((v) => v.name);
    expect(names).toEqual(
      expect.arrayContaining([
        'Pending Outbox Messages',
        'Failed and Dead-Lettered Outbox Messages',
        'Outbox Messages Published in the Last 24 Hours',
        'All Outbox Messages',
      ]),
    );
    const pending = table(model, OutboxMessage.logicalName).views.find((v) => v.name === 'Pending Outbox Messages');
    expect(pending?.fetchXml).toContain('value="612000000"');
  });

  it('reports malformed XML with the file and position', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'obx-model-'));
    try {
      fs.cpSync(defaultSolutionSrcDir, dir, { recursive: true, filter: (f) => !f.endsWith('.ts') });
      const file = path.join(dir, 'OptionSets', 'obx_outboxstatus.xml');
      fs.writeFileSync(file, fs.readFileSync(file, 'utf8').replace('</options>', '</option>'));
      let caught: unknown;
      try {
        readSolutionModel(dir);
      } catch (error) {
        caught = error;
      }
      expect(isSolutionError(caught)).toBe(true);
      expect(caught).toMatchObject({ code: 'MalformedXml', file: 'OptionSets/obx_outboxstatus.xml' });
      expect((caught as Error).message).toMatch(/line \d+, column \d+/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
