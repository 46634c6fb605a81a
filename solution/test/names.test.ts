import fs from 'node:fs';
import path from 'node:path';

import { OutboxMessage, OutboxStatus, Settings } from '@dataverse-outbox/contract';
import { defaultSolutionSrcDir } from '@dataverse-outbox/solution';
import { checkNamesModule } from '../src/tooling/names-check';
import { appSettingFor } from '../src/tooling/read-model';
import { memberName, propertyName } from '../src/tooling/names-generator';
import { namesModulePath } from '../src/paths';
import { copySolutionSource, editFile } from './helpers';

describe('generated names module', () => {
  it('is up to date with the solution XML (run `npm run generate -w solution` when this fails)', () => {
    const result = checkNamesModule(defaultSolutionSrcDir, namesModulePath);
    expect(result.actual).toBe(result.expected);
    expect(result.fresh).toBe(true);
  });

  it('goes stale when a column is renamed in the XML', () => {
    const copy = copySolutionSource();
    try {
      const entity = path.join(copy.dir, 'Entities', 'obx_OutboxMessage', 'Entity.xml');
      editFile(entity, (xml) =>
        xml
          .replace('<attribute PhysicalName="obx_SessionKey">', '<attribute PhysicalName="obx_OrderingKey">')
          .replace(/<(Name|LogicalName)>obx_sessionkey<\/\1>/g, '<$1>obx_orderingkey</$1>'),
      );
      const result = checkNamesModule(copy.dir, namesModulePath);
      expect(result.fresh).toBe(false);
      expect(result.expected).toContain("orderingKey: 'obx_orderingkey'");
      expect(result.actual).toContain("sessionKey: 'obx_sessionkey'");
    } finally {
      copy.cleanup();
    }
  });

  it('goes stale when a choice value or a setting default changes', () => {
    const copy = copySolutionSource();
    try {
      editFile(path.join(copy.dir, 'environmentvariabledefinitions', 'obx_BatchSize', 'environmentvariabledefinition.xml'), (xml) =>
        xml.replace('<defaultvalue>100</defaultvalue>', '<defaultvalue>250</defaultvalue>'),
      );
      expect(checkNamesModule(copy.dir, namesModulePath).fresh).toBe(false);
    } finally {
      copy.cleanup();
    }
  });

  it('is what the other workspaces import through the package barrel', () => {
    const text = fs.readFileSync(namesModulePath, 'utf8');
    expect(text.startsWith('// GENERATED')).toBe(true);
    expect(OutboxMessage.columns.sessionKey).toBe('obx_sessionkey');
    expect(OutboxStatus.DeadLettered).toBe(612000004);
    expect(Settings.HealthThresholds.appSetting).toBe('OUTBOX_HEALTH_THRESHOLDS');
  });

  it('derives names the way the spec spells them', () => {
    expect(propertyName('obx_NextAttemptOn', 'obx')).toBe('nextAttemptOn');
    expect(propertyName('CreatedOn', 'obx')).toBe('createdOn');
    expect(memberName('Dead Lettered')).toBe('DeadLettered');
    expect(appSettingFor('obx_ServiceBusNamespace')).toBe('OUTBOX_SERVICE_BUS_NAMESPACE');
    expect(appSettingFor('obx_AckQueue')).toBe('OUTBOX_ACK_QUEUE');
  });
});
