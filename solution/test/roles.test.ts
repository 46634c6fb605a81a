// Least privilege, read from the solution XML: each role's exact privileges and each column security profile's exact
// column permissions, against tables a reviewer can read. Changing a role or a profile means changing a row here and
// the matching row in docs/solution.md.
import fs from 'node:fs';
import path from 'node:path';

import { OutboxMessage, OutboxStatus, SecurityRoles, operatorActionPatch, operatorActions } from '@dataverse-outbox/contract';
import { defaultSolutionSrcDir } from '@dataverse-outbox/solution';
import type { FieldSecurityProfileModel } from '../src/model';
import { buildSolutionModel } from '../src/tooling/read-model';
import { loadSolutionSource } from '../src/tooling/source';
import { buildCustomizationsXml } from '../src/tooling/customizations';
import { rootComponents, validateSolution } from '../src/tooling/validate';
import { repositoryRootDir } from '../src/paths';
import { copySolutionSource, editFile } from './helpers';

const source = loadSolutionSource(defaultSolutionSrcDir);
const model = buildSolutionModel(source);
const C = OutboxMessage.columns;

type Right = 'Create' | 'Read' | 'Write' | 'Delete' | 'Append' | 'AppendTo' | 'Assign' | 'Share';
type Depth = 'Basic' | 'Local' | 'Deep' | 'Global';

// role, table (or platform table), access right, depth. Nothing else: no Delete anywhere (the cleanup job deletes, as
// the admin who scheduled it), no Create of outbox rows except for producers.
const ROLE_PRIVILEGES: readonly (readonly [string, string, Right, Depth])[] = [
  [SecurityRoles.Publisher, 'obx_OutboxMessage', 'Read', 'Global'],
  [SecurityRoles.Publisher, 'obx_OutboxMessage', 'Write', 'Global'],
  [SecurityRoles.Publisher, 'obx_OutboxLease', 'Create', 'Global'],
  [SecurityRoles.Publisher, 'obx_OutboxLease', 'Read', 'Global'],
  [SecurityRoles.Publisher, 'obx_OutboxLease', 'Write', 'Global'],
  [SecurityRoles.Publisher, 'obx_ChangeCheckpoint', 'Create', 'Global'],
  [SecurityRoles.Publisher, 'obx_ChangeCheckpoint', 'Read', 'Global'],
  [SecurityRoles.Publisher, 'obx_ChangeCheckpoint', 'Write', 'Global'],
  [SecurityRoles.Publisher, 'EnvironmentVariableDefinition', 'Read', 'Global'],
  [SecurityRoles.Publisher, 'EnvironmentVariableValue', 'Read', 'Global'],

  [SecurityRoles.Operator, 'obx_OutboxMessage', 'Read', 'Global'],
  [SecurityRoles.Operator, 'obx_OutboxMessage', 'Write', 'Global'], // column security limits it to retry/replay/cancel
  [SecurityRoles.Operator, 'obx_OutboxLease', 'Read', 'Global'],
  [SecurityRoles.Operator, 'obx_OutboxLease', 'Write', 'Global'], // `outbox release-lease`
  [SecurityRoles.Operator, 'obx_ChangeCheckpoint', 'Read', 'Global'],
  [SecurityRoles.Operator, 'EnvironmentVariableDefinition', 'Read', 'Global'],
  [SecurityRoles.Operator, 'EnvironmentVariableValue', 'Read', 'Global'],

  [SecurityRoles.Reader, 'obx_OutboxMessage', 'Read', 'Global'],
  [SecurityRoles.Reader, 'obx_OutboxLease', 'Read', 'Global'],
  [SecurityRoles.Reader, 'obx_ChangeCheckpoint', 'Read', 'Global'],
  [SecurityRoles.Reader, 'EnvironmentVariableDefinition', 'Read', 'Global'],
  [SecurityRoles.Reader, 'EnvironmentVariableValue', 'Read', 'Global'],

  [SecurityRoles.Producer, 'obx_OutboxMessage', 'Create', 'Global'],
  [SecurityRoles.Producer, 'obx_OutboxMessage', 'Read', 'Global'], // organization-owned: there is no "own rows only" depth
];

// Secured columns of obx_outboxmessage and what each profile's members may do: R read, U update, C set on create,
// '-' nothing. Profiles are named like the roles; an admin adds the same users/teams to both (docs/solution.md).
const P = 'Outbox Publisher';
const O = 'Outbox Operator';
const Rd = 'Outbox Reader';
const Pr = 'Outbox Producer';
const COLUMN_PERMISSIONS: readonly (readonly [string, { [P]: string; [O]: string; [Rd]: string; [Pr]: string }])[] = [
  // The message: producers set it once, nobody changes it afterwards.
  [C.target, { [P]: 'R', [O]: 'R', [Rd]: 'R', [Pr]: 'RC' }],
  [C.payload, { [P]: 'R', [O]: 'R', [Rd]: '-', [Pr]: 'RC' }],
  [C.eventType, { [P]: 'R', [O]: 'R', [Rd]: 'R', [Pr]: 'RC' }],
  [C.contentType, { [P]: 'R', [O]: 'R', [Rd]: 'R', [Pr]: 'RC' }],
  [C.correlationId, { [P]: 'R', [O]: 'R', [Rd]: 'R', [Pr]: 'RC' }],
  [C.sessionKey, { [P]: 'R', [O]: 'R', [Rd]: 'R', [Pr]: 'RC' }],
  [C.sourceEntity, { [P]: 'R', [O]: 'R', [Rd]: 'R', [Pr]: 'RC' }],
  [C.sourceId, { [P]: 'R', [O]: 'R', [Rd]: 'R', [Pr]: 'RC' }],
  [C.expiresOn, { [P]: 'R', [O]: 'R', [Rd]: 'R', [Pr]: 'RC' }],
  // The commit's W3C trace context: the producer's writer stores it with the row; the publisher reads it to send the
  // message in the same trace (contract/src/traceContext.ts).
  [C.traceContext, { [P]: 'R', [O]: 'R', [Rd]: 'R', [Pr]: 'RC' }],
  // The partition slot: the producer's writer stores it with the row (contract partitionSlotOfRow); moving a row to
  // another partition would let two publishers work on one key, so nobody changes it afterwards, operators included.
  [C.partitionSlot, { [P]: 'R', [O]: 'R', [Rd]: 'R', [Pr]: 'RC' }],
  // Delivery state: the publisher moves it; operators only what retry/replay/cancel write; producers never set it,
  // so a new row always starts Pending with no attempts.
  [C.status, { [P]: 'RU', [O]: 'RU', [Rd]: 'R', [Pr]: 'R' }],
  [C.attempts, { [P]: 'RU', [O]: 'RU', [Rd]: 'R', [Pr]: 'R' }],
  // Producers may create it: a scheduled event's "not before" time (contract/src/scheduling.ts), never change it.
  [C.nextAttemptOn, { [P]: 'RU', [O]: 'RU', [Rd]: 'R', [Pr]: 'RC' }],
  [C.lastError, { [P]: 'RU', [O]: 'RU', [Rd]: 'R', [Pr]: 'R' }],
  [C.publishedOn, { [P]: 'RU', [O]: 'R', [Rd]: 'R', [Pr]: 'R' }],
  [C.ackedOn, { [P]: 'RU', [O]: 'RU', [Rd]: 'R', [Pr]: 'R' }],
  [C.replayCount, { [P]: 'RU', [O]: 'RU', [Rd]: 'R', [Pr]: 'R' }],
];

// What the operator's actions write: every column of the contract's patches (contract/src/operatorActions.ts), which the
// CLI, the command bar and the monitor all send. An action writing a column the Operator may not update fails here.
const OPERATOR_WRITES = [...new Set(operatorActions.flatMap((action) => Object.keys(operatorActionPatch(action, 0))))];

const PRIVILEGE = /^prv(Create|Read|Write|Delete|Append|AppendTo|Assign|Share)(.+)$/;

function privilegesOf(roleName: string): string[] {
  const role = model.roles.find((r) => r.name === roleName);
  return (role?.privileges ?? []).map((p) => {
    const match = PRIVILEGE.exec(p.name);
    return match ? `${match[2] ?? ''} ${match[1] ?? ''} ${p.level}` : `unparsable ${p.name}`;
  }).sort();
}

function profile(name: string): FieldSecurityProfileModel {
  const found = model.fieldSecurityProfiles.find((p) => p.name === name);
  if (!found) throw new Error(`no field security profile ${name}`);
  return found;
}

function granted(name: string, column: string): string {
  const p = profile(name).permissions.find((x) => x.table === OutboxMessage.logicalName && x.column === column);
  if (!p) return 'unlisted';
  const letters = `${p.read ? 'R' : ''}${p.update ? 'U' : ''}${p.create ? 'C' : ''}`;
  return letters || '-';
}

describe('security roles: least privilege', () => {
  it.each(Object.values(SecurityRoles))('%s holds exactly the privileges of the table (entity, access right, depth)', (role) => {
    const expected = ROLE_PRIVILEGES.filter(([r]) => r === role).map(([, table, right, depth]) => `${table} ${right} ${depth}`).sort();
    expect(privilegesOf(role)).toEqual(expected);
  });

  it('ships exactly the four roles of the table, each as a root component', () => {
    expect(model.roles.map((r) => r.name).sort()).toEqual([...new Set(ROLE_PRIVILEGES.map(([r]) => r))].sort());
    expect(rootComponents(source).filter((r) => r.type === '20').map((r) => r.id).sort()).toEqual(model.roles.map((r) => r.id).sort());
  });

  it('gives no role Delete, Append, Assign or Share, and only producers Create on outbox rows', () => {
    const all = model.roles.flatMap((r) => r.privileges.map((p) => `${r.name}: ${p.name}`));
    expect(all.filter((p) => /prv(Delete|Append|AppendTo|Assign|Share)/.test(p))).toEqual([]);
    expect(all.filter((p) => p.endsWith('prvCreateobx_OutboxMessage'))).toEqual([`${SecurityRoles.Producer}: prvCreateobx_OutboxMessage`]);
  });

  it('lets the Operator release a lease (docs/operations.md says so) and nobody but the Publisher take one', () => {
    expect(privilegesOf(SecurityRoles.Operator)).toContain('obx_OutboxLease Write Global');
    expect(privilegesOf(SecurityRoles.Operator)).not.toContain('obx_OutboxLease Create Global');
    const operations = fs.readFileSync(path.join(repositoryRootDir, 'docs', 'operations.md'), 'utf8');
    expect(operations).toMatch(/release-lease[^\n]*Outbox Operator/);
  });

  it('explains every privilege of every role in docs/solution.md', () => {
    const docs = fs.readFileSync(path.join(repositoryRootDir, 'docs', 'solution.md'), 'utf8');
    const missing = model.roles.flatMap((role) => role.privileges.filter((p) => !docs.includes(`| ${role.name} | \`${p.name}\``)).map((p) => `${role.name}: ${p.name}`));
    expect(missing).toEqual([]);
  });
});

describe('column security: the Operator cannot edit the message, producers cannot create a row in another status', () => {
  it('secures exactly the columns of the table on obx_outboxmessage, and nothing on the other tables', () => {
    const secured = model.tables.flatMap((t) => t.columns.filter((c) => c.isSecured).map((c) => `${t.logicalName}.${c.logicalName}`)).sort();
    expect(secured).toEqual(COLUMN_PERMISSIONS.map(([column]) => `${OutboxMessage.logicalName}.${column}`).sort());
  });

  it.each([P, O, Rd, Pr])('profile %s grants exactly the permissions of the table on every secured column', (name) => {
    const actual = Object.fromEntries(COLUMN_PERMISSIONS.map(([column]) => [column, granted(name, column)]));
    const expected = Object.fromEntries(COLUMN_PERMISSIONS.map(([column, grants]) => [column, grants[name as keyof typeof grants]]));
    expect(actual).toEqual(expected);
    expect(profile(name).permissions).toHaveLength(COLUMN_PERMISSIONS.length);
  });

  it('has one profile per role, each a root component of the solution', () => {
    expect(model.fieldSecurityProfiles.map((p) => p.name).sort()).toEqual(Object.values(SecurityRoles).sort());
    expect(rootComponents(source).filter((r) => r.type === '70').map((r) => r.id).sort()).toEqual(model.fieldSecurityProfiles.map((p) => p.id).sort());
  });

  it('packs the profiles into the FieldSecurityProfiles section of customizations.xml', () => {
    const xml = buildCustomizationsXml(source);
    const section = /<FieldSecurityProfiles>([\s\S]*?)<\/FieldSecurityProfiles>/.exec(xml)?.[1] ?? '';
    for (const p of model.fieldSecurityProfiles) expect(section).toContain(`<FieldSecurityProfile name="${p.name}"`);
    expect(section.match(/<FieldPermission>/g)).toHaveLength(model.fieldSecurityProfiles.length * COLUMN_PERMISSIONS.length);
  });

  it('the Operator can read but not change payload, target or any other message column', () => {
    for (const column of [C.payload, C.target, C.eventType, C.sessionKey, C.contentType, C.correlationId, C.sourceEntity, C.sourceId, C.expiresOn, C.partitionSlot]) {
      expect({ column, grant: granted(O, column) }).toEqual({ column, grant: 'R' });
    }
  });

  it('the Operator can write every column retry, replay and cancel write, and nothing else of the delivery state', () => {
    const updatable = COLUMN_PERMISSIONS.filter(([column]) => granted(O, column).includes('U')).map(([column]) => column).sort();
    expect(updatable).toEqual([...OPERATOR_WRITES].sort());
  });

  it('producers set no delivery-state column on create, so a new row takes the Pending default', () => {
    // obx_nextattempton is the exception: a scheduled event's not-before time; the row is still Pending with 0 attempts.
    for (const column of [C.status, C.attempts, C.lastError, C.publishedOn, C.ackedOn, C.replayCount]) {
      expect({ column, create: granted(Pr, column).includes('C') }).toEqual({ column, create: false });
    }
    const status = model.tables.find((t) => t.logicalName === OutboxMessage.logicalName)?.columns.find((c) => c.logicalName === C.status);
    expect(status?.defaultValue).toBe(OutboxStatus.Pending);
  });

  it('no profile lets anyone update a message column after the row exists', () => {
    const messageColumns = COLUMN_PERMISSIONS.slice(0, 10).map(([column]) => column);
    const updates = model.fieldSecurityProfiles.flatMap((p) => p.permissions.filter((x) => x.update && messageColumns.includes(x.column)).map((x) => `${p.name}: ${x.column}`));
    expect(updates).toEqual([]);
  });
});

describe('column security validation (bad input)', () => {
  const problemsAfter = (edit: (dir: string) => void): string[] => {
    const copy = copySolutionSource();
    try {
      edit(copy.dir);
      const copied = loadSolutionSource(copy.dir);
      return validateSolution(copied, buildSolutionModel(copied)).map((p) => `${p.file}: ${p.message}`);
    } finally {
      copy.cleanup();
    }
  };
  const profiles = (dir: string): string => path.join(dir, 'Other', 'FieldSecurityProfiles.xml');

  it('refuses a profile permission on a column that is not secured', () => {
    const problems = problemsAfter((dir) =>
      editFile(path.join(dir, 'Entities', 'obx_OutboxMessage', 'Entity.xml'), (xml) =>
        xml.replace(/(<LogicalName>obx_payload<\/LogicalName>[\s\S]*?<IsSecured>)1/, '$10'),
      ),
    );
    expect(problems).toEqual(expect.arrayContaining([expect.stringContaining('names obx_outboxmessage.obx_payload, which is not secured')]));
  });

  it('refuses a permission value other than 0 or 4, and a secured column a profile leaves out', () => {
    const problems = problemsAfter((dir) =>
      editFile(profiles(dir), (xml) =>
        xml
          .replace('<CanUpdate>0</CanUpdate>', '<CanUpdate>1</CanUpdate>')
          .replace(/\s*<FieldPermission>\s*<EntityName>obx_outboxmessage<\/EntityName>\s*<AttributeName>obx_replaycount<\/AttributeName>[\s\S]*?<\/FieldPermission>/, ''),
      ),
    );
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/CanUpdate must be 0 or 4, not "1"/),
        expect.stringMatching(/does not say what its members may do with secured column obx_outboxmessage.obx_replaycount/),
      ]),
    );
  });

  it('refuses a profile naming a column that does not exist, and a root component naming a missing profile', () => {
    const problems = problemsAfter((dir) => {
      editFile(profiles(dir), (xml) => xml.replace('<AttributeName>obx_target</AttributeName>', '<AttributeName>obx_targets</AttributeName>'));
      editFile(path.join(dir, 'Other', 'Solution.xml'), (xml) => xml.replace(/(<RootComponent type="70" id="\{)[0-9a-f]/, '$1f'));
    });
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.stringContaining('names obx_outboxmessage.obx_targets, which the solution does not have'),
        expect.stringMatching(/RootComponent type 70 \(field security profile\) .* does not exist in the solution/),
      ]),
    );
  });
});
