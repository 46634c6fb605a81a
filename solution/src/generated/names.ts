// GENERATED from solution/src by `npm run generate -w solution`. Do not edit: change the solution XML and regenerate.
// (Initial hand-written version; the generator must reproduce exactly these exports.)

export const SolutionNames = {
  uniqueName: 'DataverseOutbox',
  publisherUniqueName: 'dataverseoutbox',
  customizationPrefix: 'obx',
  optionValuePrefix: 61200,
} as const;

/** obx_outboxmessage: one message to publish, written in the same transaction as the business change. */
export const OutboxMessage = {
  logicalName: 'obx_outboxmessage',
  schemaName: 'obx_OutboxMessage',
  entitySetName: 'obx_outboxmessages',
  primaryIdAttribute: 'obx_outboxmessageid',
  primaryNameAttribute: 'obx_name',
  columns: {
    id: 'obx_outboxmessageid',
    name: 'obx_name',
    messageId: 'obx_messageid',
    target: 'obx_target',
    eventType: 'obx_eventtype',
    payload: 'obx_payload',
    contentType: 'obx_contenttype',
    correlationId: 'obx_correlationid',
    sessionKey: 'obx_sessionkey',
    sourceEntity: 'obx_sourceentity',
    sourceId: 'obx_sourceid',
    sequence: 'obx_sequence',
    status: 'obx_status',
    attempts: 'obx_attempts',
    nextAttemptOn: 'obx_nextattempton',
    lastError: 'obx_lasterror',
    publishedOn: 'obx_publishedon',
    ackedOn: 'obx_ackedon',
    replayCount: 'obx_replaycount',
    expiresOn: 'obx_expireson',
    createdOn: 'createdon',
    modifiedOn: 'modifiedon',
  },
  maxLength: {
    obx_name: 200,
    obx_messageid: 100,
    obx_target: 260,
    obx_eventtype: 200,
    obx_payload: 1048576,
    obx_contenttype: 100,
    obx_correlationid: 100,
    obx_sessionkey: 128,
    obx_sourceentity: 64,
    obx_sourceid: 36,
    obx_lasterror: 4000,
  },
  alternateKeys: { messageId: ['obx_messageid'] },
} as const;

/** obx_outboxlease: one active publisher per scope, taken and renewed with ETag conditional updates. */
export const OutboxLease = {
  logicalName: 'obx_outboxlease',
  schemaName: 'obx_OutboxLease',
  entitySetName: 'obx_outboxleases',
  primaryIdAttribute: 'obx_outboxleaseid',
  primaryNameAttribute: 'obx_name',
  columns: {
    id: 'obx_outboxleaseid',
    name: 'obx_name',
    owner: 'obx_owner',
    leaseUntil: 'obx_leaseuntil',
  },
  alternateKeys: { name: ['obx_name'] },
} as const;

/** Global choice obx_outboxstatus. */
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
  ServiceBusNamespace: { schemaName: 'obx_ServiceBusNamespace', type: 'String', defaultValue: '', appSetting: 'OUTBOX_SERVICE_BUS_NAMESPACE' },
  AllowedTargets: { schemaName: 'obx_AllowedTargets', type: 'JSON', defaultValue: '[]', appSetting: 'OUTBOX_ALLOWED_TARGETS' },
  BatchSize: { schemaName: 'obx_BatchSize', type: 'Number', defaultValue: '100', appSetting: 'OUTBOX_BATCH_SIZE' },
  MaxAttempts: { schemaName: 'obx_MaxAttempts', type: 'Number', defaultValue: '10', appSetting: 'OUTBOX_MAX_ATTEMPTS' },
  RetentionDays: { schemaName: 'obx_RetentionDays', type: 'Number', defaultValue: '7', appSetting: 'OUTBOX_RETENTION_DAYS' },
  AckQueue: { schemaName: 'obx_AckQueue', type: 'String', defaultValue: 'outbox-acks', appSetting: 'OUTBOX_ACK_QUEUE' },
  PublisherEnabled: { schemaName: 'obx_PublisherEnabled', type: 'Boolean', defaultValue: 'yes', appSetting: 'OUTBOX_PUBLISHER_ENABLED' },
  HealthThresholds: {
    schemaName: 'obx_HealthThresholds',
    type: 'JSON',
    defaultValue: '{"maxPendingAgeSeconds":300,"maxFailed":0,"maxDeadLettered":0}',
    appSetting: 'OUTBOX_HEALTH_THRESHOLDS',
  },
} as const satisfies Record<string, { schemaName: string; type: SettingType; defaultValue: string; appSetting: string }>;
export type SettingKey = keyof typeof Settings;

/** Security roles shipped by the solution. */
export const SecurityRoles = {
  Publisher: 'Outbox Publisher',
  Operator: 'Outbox Operator',
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
