// Hostile input for the solution's roles and column security profiles: edits a careless or malicious change could make
// to the XML. Each must be reported by the packer's validation with its file and a specific message, and be the only
// problem reported (the rest of the solution stays valid: nothing else is blamed or hidden).
import path from 'node:path';

import { buildSolutionModel } from '../../src/tooling/read-model';
import { loadSolutionSource } from '../../src/tooling/source';
import { validateSolution } from '../../src/tooling/validate';
import { copySolutionSource, editFile } from '../helpers';

const profiles = 'Other/FieldSecurityProfiles.xml';
const operatorRole = 'Roles/Outbox Operator.xml';
const entity = 'Entities/obx_OutboxMessage/Entity.xml';

// what, file edited, edit, file the problem is reported in, message, how many problems the edit causes in all
// (unsecuring a column is reported once per profile naming it; a duplicated id also orphans a root component).
const cases: [string, string, (xml: string) => string, string, RegExp, number][] = [
  [
    'a profile granting update on a column nobody secured',
    entity,
    (xml) => xml.replace(/(<LogicalName>obx_target<\/LogicalName>[\s\S]*?<IsSecured>)1/, '$10'),
    profiles,
    /names obx_outboxmessage\.obx_target, which is not secured/,
    4,
  ],
  ['a permission value of 1 (not 0 or 4)', profiles, (xml) => xml.replace('<CanCreate>0</CanCreate>', '<CanCreate>1</CanCreate>'), profiles, /CanCreate must be 0 or 4, not "1"/, 1],
  ['a permission value that is not a number', profiles, (xml) => xml.replace('<CanRead>4</CanRead>', '<CanRead>yes</CanRead>'), profiles, /CanRead must be 0 or 4, not "yes"/, 1],
  [
    'a column listed twice in one profile',
    profiles,
    (xml) => xml.replace(/(<FieldPermissions>\s*)(<FieldPermission>[\s\S]*?<\/FieldPermission>)/, '$1$2$2'),
    profiles,
    /lists a column twice/,
    1,
  ],
  [
    'a profile that names a table the solution does not have',
    profiles,
    (xml) => xml.replace('<EntityName>obx_outboxmessage</EntityName>', '<EntityName>account</EntityName>'),
    profiles,
    /names account\.obx_target, which the solution does not have/,
    2,
  ],
  [
    'two profiles with the same id',
    profiles,
    (xml) => {
      const ids = [...xml.matchAll(/fieldsecurityprofileid="(\{[^}]+\})"/g)].map((m) => m[1] as string);
      return xml.replace(ids[1] as string, ids[0] as string);
    },
    profiles,
    /uses GUID \{[0-9a-f-]+\}, already used by field security profile/,
    2,
  ],
  [
    'an Operator privilege with user depth on an organization-owned table',
    operatorRole,
    (xml) => xml.replace('<RolePrivilege name="prvWriteobx_OutboxLease" level="Global" />', '<RolePrivilege name="prvWriteobx_OutboxLease" level="Basic" />'),
    operatorRole,
    /prvWriteobx_OutboxLease: organization-owned tables only have Global \(organization\) depth, not Basic/,
    1,
  ],
  [
    'a privilege on a table that does not exist (a typo that import would reject)',
    operatorRole,
    (xml) => xml.replace('prvWriteobx_OutboxLease', 'prvWriteobx_OutboxLeases'),
    operatorRole,
    /privilege prvWriteobx_OutboxLeases names no table of this solution/,
    1,
  ],
  [
    'Share on an organization-owned table',
    operatorRole,
    (xml) => xml.replace('<RolePrivileges>', '<RolePrivileges>\n    <RolePrivilege name="prvShareobx_OutboxMessage" level="Global" />'),
    operatorRole,
    /prvShareobx_OutboxMessage: organization-owned tables cannot be assigned or shared/,
    1,
  ],
];

describe('roles and column security profiles', () => {
  it.each(cases)('hostile: reports %s, with its file, and only what it causes', (_what, file, edit, reportedIn, message, count) => {
    const copy = copySolutionSource();
    try {
      editFile(path.join(copy.dir, file), edit);
      const source = loadSolutionSource(copy.dir);
      const problems = validateSolution(source, buildSolutionModel(source)).map((p) => `${p.file}: ${p.message}`);
      expect(problems).toHaveLength(count);
      expect(problems.filter((p) => p.startsWith(`${reportedIn}: `) && message.test(p)).length).toBeGreaterThan(0);
    } finally {
      copy.cleanup();
    }
  });
});
