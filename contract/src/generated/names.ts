// GENERATED from solution/src by `npm run generate -w solution`. Do not edit: change the solution XML and regenerate.
// A test fails when this file no longer matches the XML.

export const SolutionNames = {
  uniqueName: 'DataverseOutbox',
  publisherUniqueName: 'dataverseoutbox',
  customizationPrefix: 'obx',
  optionValuePrefix: 61200,
} as const;

/** obx_outboxmessage: A business event waiting to be published to Azure Service Bus. Written in the same transaction as the business change that caused it (transactional outbox). */
export const OutboxMessage = {
  logicalName: 'obx_outboxmessage',
  schemaName: 'obx_OutboxMessage',
  entitySetName: 'obx_outboxmessages',
  primaryIdAttribute: 'obx_outboxmessageid',
  primaryNameAttribute: 'obx_name',
  columns: {
    id: 'obx_outboxmessageid',
    ackedOn: 'obx_ackedon',
    attempts: 'obx_attempts',
    contentType: 'obx_contenttype',
    correlationId: 'obx_correlationid',
    traceContext: 'obx_tracecontext',
    eventType: 'obx_eventtype',
    expiresOn: 'obx_expireson',
    lastError: 'obx_lasterror',
    messageId: 'obx_messageid',
    name: 'obx_name',
    nextAttemptOn: 'obx_nextattempton',
    partitionSlot: 'obx_partitionslot',
    payload: 'obx_payload',
    publishedOn: 'obx_publishedon',
    replayCount: 'obx_replaycount',
    sequence: 'obx_sequence',
    sessionKey: 'obx_sessionkey',
    sourceEntity: 'obx_sourceentity',
    sourceId: 'obx_sourceid',
    status: 'obx_status',
    target: 'obx_target',
    createdOn: 'createdon',
    modifiedOn: 'modifiedon',
  },
  maxLength: {
    obx_contenttype: 100,
    obx_correlationid: 100,
    obx_tracecontext: 512,
    obx_eventtype: 200,
    obx_lasterror: 4000,
    obx_messageid: 100,
    obx_name: 200,
    obx_payload: 1048576,
    obx_sessionkey: 128,
    obx_sourceentity: 64,
    obx_sourceid: 36,
    obx_target: 260,
  },
  alternateKeys: {
    messageId: ['obx_messageid'],
  },
} as const;

/** obx_outboxlease: Makes sure one publisher at a time works on a scope. Taken and renewed with ETag conditional updates; the loser gets 412 Precondition Failed. */
export const OutboxLease = {
  logicalName: 'obx_outboxlease',
  schemaName: 'obx_OutboxLease',
  entitySetName: 'obx_outboxleases',
  primaryIdAttribute: 'obx_outboxleaseid',
  primaryNameAttribute: 'obx_name',
  columns: {
    id: 'obx_outboxleaseid',
    leaseUntil: 'obx_leaseuntil',
    name: 'obx_name',
    owner: 'obx_owner',
    createdOn: 'createdon',
    modifiedOn: 'modifiedon',
  },
  maxLength: {
    obx_name: 200,
    obx_owner: 200,
  },
  alternateKeys: {
    name: ['obx_name'],
  },
} as const;

/** obx_changecheckpoint: Where each change-tracking source of the publisher stands: the Dataverse delta token of the last delta whose messages were all sent to Service Bus, and the last full resync with its reason. Written only after the messages it covers were sent. */
export const ChangeCheckpoint = {
  logicalName: 'obx_changecheckpoint',
  schemaName: 'obx_ChangeCheckpoint',
  entitySetName: 'obx_changecheckpoints',
  primaryIdAttribute: 'obx_changecheckpointid',
  primaryNameAttribute: 'obx_name',
  columns: {
    id: 'obx_changecheckpointid',
    deltaToken: 'obx_deltatoken',
    lastResyncOn: 'obx_lastresyncon',
    lastSyncOn: 'obx_lastsyncon',
    name: 'obx_name',
    resyncCount: 'obx_resynccount',
    resyncReason: 'obx_resyncreason',
    table: 'obx_table',
    createdOn: 'createdon',
    modifiedOn: 'modifiedon',
  },
  maxLength: {
    obx_deltatoken: 10000,
    obx_name: 200,
    obx_resyncreason: 4000,
    obx_table: 64,
  },
  alternateKeys: {
    name: ['obx_name'],
  },
} as const;

/** Global choice obx_outboxstatus (Outbox Status). */
export const OutboxStatus = {
  Pending: 612000000,
  Published: 612000001,
  Acked: 612000002,
  Failed: 612000003,
  DeadLettered: 612000004,
  Cancelled: 612000005,
} as const;
export type OutboxStatusName = keyof typeof OutboxStatus;
export type OutboxStatusValue = (typeof OutboxStatus)[OutboxStatusName];
export const OutboxStatusChoice = { name: 'obx_outboxstatus', default: OutboxStatus.Pending } as const;

export type SettingType = 'String' | 'Number' | 'Boolean' | 'JSON';

/** Environment variable definitions shipped by the solution (schema name, type, default as stored in the solution). */
export const Settings = {
  AckQueue: {
    schemaName: 'obx_AckQueue',
    type: 'String',
    defaultValue: 'outbox-acks',
    appSetting: 'OUTBOX_ACK_QUEUE',
  },
  AllowedTargets: {
    schemaName: 'obx_AllowedTargets',
    type: 'JSON',
    defaultValue: '[]',
    appSetting: 'OUTBOX_ALLOWED_TARGETS',
  },
  BatchSize: {
    schemaName: 'obx_BatchSize',
    type: 'Number',
    defaultValue: '100',
    appSetting: 'OUTBOX_BATCH_SIZE',
  },
  ChangeTrackingSources: {
    schemaName: 'obx_ChangeTrackingSources',
    type: 'JSON',
    defaultValue: '[]',
    appSetting: 'OUTBOX_CHANGE_TRACKING_SOURCES',
  },
  HealthThresholds: {
    schemaName: 'obx_HealthThresholds',
    type: 'JSON',
    defaultValue: '{"maxPendingAgeSeconds":300,"maxFailed":0,"maxDeadLettered":0}',
    appSetting: 'OUTBOX_HEALTH_THRESHOLDS',
  },
  MaxAttempts: {
    schemaName: 'obx_MaxAttempts',
    type: 'Number',
    defaultValue: '10',
    appSetting: 'OUTBOX_MAX_ATTEMPTS',
  },
  MessageFormats: {
    schemaName: 'obx_MessageFormats',
    type: 'JSON',
    defaultValue: '{}',
    appSetting: 'OUTBOX_MESSAGE_FORMATS',
  },
  PartitionCount: {
    schemaName: 'obx_PartitionCount',
    type: 'Number',
    defaultValue: '1',
    appSetting: 'OUTBOX_PARTITION_COUNT',
  },
  PublisherEnabled: {
    schemaName: 'obx_PublisherEnabled',
    type: 'Boolean',
    defaultValue: 'yes',
    appSetting: 'OUTBOX_PUBLISHER_ENABLED',
  },
  RetentionDays: {
    schemaName: 'obx_RetentionDays',
    type: 'Number',
    defaultValue: '7',
    appSetting: 'OUTBOX_RETENTION_DAYS',
  },
  ServiceBusNamespace: {
    schemaName: 'obx_ServiceBusNamespace',
    type: 'String',
    defaultValue: '',
    appSetting: 'OUTBOX_SERVICE_BUS_NAMESPACE',
  },
} as const satisfies Record<string, { schemaName: string; type: SettingType; defaultValue: string; appSetting: string }>;
export type SettingKey = keyof typeof Settings;

/** Security roles shipped by the solution. */
export const SecurityRoles = {
  Operator: 'Outbox Operator',
  Producer: 'Outbox Producer',
  Publisher: 'Outbox Publisher',
  Reader: 'Outbox Reader',
} as const;

/** Service Bus application properties set on every published message (spec "Row -> Service Bus message"). */
export const MessageProperties = {
  outboxId: 'outbox-id',
  outboxMessageId: 'outbox-message-id',
  sourceEntity: 'source-entity',
  sourceId: 'source-id',
  outboxSequence: 'outbox-sequence',
} as const;
