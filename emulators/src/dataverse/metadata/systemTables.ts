// System tables the product touches: users, roles and business units (so a deploy script can create an application user
// and assign roles), environment variables (settings), async operations and bulk delete operations (cleanup jobs).
import { col, defineEntity, type EntityDef, type ManyToManyDef } from './model';

export const ROOT_BUSINESS_UNIT_ID = '3b1a4d1e-0000-4000-8000-00000000b001';
export const ORGANIZATION_ID = '3b1a4d1e-0000-4000-8000-00000000f001';
export const SYSTEM_ADMINISTRATOR_ROLE_ID = '3b1a4d1e-0000-4000-8000-00000000a001';

/** Dataverse's EnvironmentVariableDefinition.type choice values. */
export const ENV_VAR_TYPES = {
  String: 100000000,
  Number: 100000001,
  Boolean: 100000002,
  JSON: 100000003,
  DataSource: 100000004,
  Secret: 100000005,
} as const;

/** asyncoperation.operationtype for bulk delete (Microsoft Learn, asyncoperation table reference). */
export const OPERATION_TYPE_BULK_DELETE = 13;
export const ASYNC_STATE = { Ready: 0, Suspended: 1, Locked: 2, Completed: 3 } as const;
export const ASYNC_STATUS = { WaitingForResources: 0, Waiting: 10, InProgress: 20, Succeeded: 30, Failed: 31, Canceled: 32 } as const;

export function systemTables(): EntityDef[] {
  return [
    defineEntity({
      logicalName: 'businessunit',
      entitySetName: 'businessunits',
      primaryNameAttribute: 'name',
      withState: false,
      attributes: [col('name', 'string', { maxLength: 160, required: true }), col('parentbusinessunitid', 'lookup', { target: 'businessunit' })],
    }),
    defineEntity({
      logicalName: 'systemuser',
      entitySetName: 'systemusers',
      primaryNameAttribute: 'fullname',
      withState: false,
      attributes: [
        col('fullname', 'string', { maxLength: 200 }),
        col('firstname', 'string', { maxLength: 64 }),
        col('lastname', 'string', { maxLength: 64 }),
        col('domainname', 'string', { maxLength: 1024 }),
        col('internalemailaddress', 'string', { maxLength: 100 }),
        col('applicationid', 'uniqueidentifier'),
        col('azureactivedirectoryobjectid', 'uniqueidentifier'),
        col('isdisabled', 'boolean', { defaultValue: false }),
        col('accessmode', 'picklist', {
          optionLabels: { 0: 'Read-Write', 1: 'Administrative', 2: 'Read', 3: 'Support User', 4: 'Non-interactive', 5: 'Delegated Admin' },
          defaultValue: 0,
        }),
        col('businessunitid', 'lookup', { target: 'businessunit' }),
      ],
      alternateKeys: [],
      indexes: [['applicationid'], ['azureactivedirectoryobjectid'], ['domainname']],
    }),
    defineEntity({
      logicalName: 'role',
      entitySetName: 'roles',
      primaryNameAttribute: 'name',
      withState: false,
      attributes: [col('name', 'string', { maxLength: 100, required: true }), col('businessunitid', 'lookup', { target: 'businessunit' })],
      indexes: [['name']],
    }),
    // Column security profiles: the solution ships them; a deploy script adds the publisher's user to one.
    defineEntity({
      logicalName: 'fieldsecurityprofile',
      entitySetName: 'fieldsecurityprofiles',
      primaryNameAttribute: 'name',
      withState: false,
      attributes: [col('name', 'string', { maxLength: 100, required: true }), col('description', 'memo', { maxLength: 2000 })],
      indexes: [['name']],
    }),
    defineEntity({
      logicalName: 'environmentvariabledefinition',
      entitySetName: 'environmentvariabledefinitions',
      primaryNameAttribute: 'schemaname',
      attributes: [
        col('schemaname', 'string', { maxLength: 100, required: true }),
        col('displayname', 'string', { maxLength: 100 }),
        col('description', 'memo', { maxLength: 2000 }),
        col('defaultvalue', 'memo', { maxLength: 2000 }),
        col('type', 'picklist', {
          optionLabels: {
            [ENV_VAR_TYPES.String]: 'String',
            [ENV_VAR_TYPES.Number]: 'Number',
            [ENV_VAR_TYPES.Boolean]: 'Boolean',
            [ENV_VAR_TYPES.JSON]: 'JSON',
            [ENV_VAR_TYPES.DataSource]: 'Data source',
            [ENV_VAR_TYPES.Secret]: 'Secret',
          },
          defaultValue: ENV_VAR_TYPES.String,
        }),
        col('isrequired', 'boolean', { defaultValue: false }),
        col('secretstore', 'picklist', { optionLabels: { 0: 'Azure Key Vault', 1: 'Microsoft Dataverse' } }),
      ],
      alternateKeys: [{ logicalName: 'environmentvariabledefinition_schemaname', columns: ['schemaname'] }],
      oneToMany: [
        {
          name: 'environmentvariabledefinition_environmentvariablevalue',
          referencingEntity: 'environmentvariablevalue',
          referencingAttribute: 'environmentvariabledefinitionid',
        },
      ],
    }),
    defineEntity({
      logicalName: 'environmentvariablevalue',
      entitySetName: 'environmentvariablevalues',
      primaryNameAttribute: 'schemaname',
      attributes: [
        col('schemaname', 'string', { maxLength: 100 }),
        col('value', 'memo', { maxLength: 2000 }),
        // The navigation property of this system lookup is its schema name (as in Microsoft's deployment samples).
        col('environmentvariabledefinitionid', 'lookup', {
          target: 'environmentvariabledefinition',
          navigationProperty: 'EnvironmentVariableDefinitionId',
        }),
      ],
      indexes: [['environmentvariabledefinitionid']],
    }),
    defineEntity({
      logicalName: 'asyncoperation',
      entitySetName: 'asyncoperations',
      primaryNameAttribute: 'name',
      withState: false,
      attributes: [
        col('name', 'string', { maxLength: 256 }),
        col('operationtype', 'integer'),
        col('statecode', 'state', { optionLabels: { 0: 'Ready', 1: 'Suspended', 2: 'Locked', 3: 'Completed' }, defaultValue: 0 }),
        col('statuscode', 'status', {
          optionLabels: { 0: 'Waiting For Resources', 10: 'Waiting', 20: 'In Progress', 21: 'Pausing', 22: 'Canceling', 30: 'Succeeded', 31: 'Failed', 32: 'Canceled' },
          defaultValue: 0,
        }),
        col('recurrencepattern', 'string', { maxLength: 256 }),
        col('recurrencestarttime', 'datetime'),
        col('postponeuntil', 'datetime'),
        col('startedon', 'datetime'),
        col('completedon', 'datetime'),
        col('message', 'memo', { maxLength: 10000 }),
        col('friendlymessage', 'memo', { maxLength: 10000 }),
        col('data', 'memo', { maxLength: 1048576 }),
        col('errorcode', 'integer'),
      ],
      indexes: [['operationtype', 'statecode', 'postponeuntil']],
    }),
    defineEntity({
      logicalName: 'bulkdeleteoperation',
      entitySetName: 'bulkdeleteoperations',
      primaryNameAttribute: 'name',
      withState: false,
      attributes: [
        col('name', 'string', { maxLength: 256 }),
        col('asyncoperationid', 'lookup', { target: 'asyncoperation' }),
        col('successcount', 'integer', { defaultValue: 0 }),
        col('failurecount', 'integer', { defaultValue: 0 }),
        col('isrecurring', 'boolean', { defaultValue: false }),
        col('nextrun', 'datetime'),
        col('orderedquerysetxml', 'memo', { maxLength: 1048576 }),
        col('statecode', 'state', { optionLabels: { 0: 'Ready', 1: 'Suspended', 2: 'Locked', 3: 'Completed' }, defaultValue: 0 }),
        col('statuscode', 'status', { optionLabels: { 0: 'Waiting For Resources', 10: 'Waiting', 20: 'In Progress', 30: 'Succeeded', 31: 'Failed' }, defaultValue: 0 }),
      ],
      indexes: [['asyncoperationid']],
    }),
  ];
}

/** systemuserprofiles_association: the N:N between users and column security profiles, filled through `$ref`. */
export const SYSTEM_USER_PROFILES: ManyToManyDef = {
  name: 'systemuserprofiles_association',
  intersectTable: 'systemuserprofiles',
  entity1: 'systemuser',
  entity1Attribute: 'systemuserid',
  entity2: 'fieldsecurityprofile',
  entity2Attribute: 'fieldsecurityprofileid',
};

/** systemuserroles_association: the N:N between users and roles a deploy script fills through `$ref`. */
export const SYSTEM_USER_ROLES: ManyToManyDef = {
  name: 'systemuserroles_association',
  intersectTable: 'systemuserroles',
  entity1: 'systemuser',
  entity1Attribute: 'systemuserid',
  entity2: 'role',
  entity2Attribute: 'roleid',
};
