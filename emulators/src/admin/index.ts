// `@dataverse-outbox/emulators/admin`: typed clients of the emulators' admin endpoints for harnesses in another process
// (the chaos run, the benchmarks, tests). Only types of the emulators come along: importing this entry starts nothing.
export { DataverseAdminClient } from './dataverseAdminClient';
export { ServiceBusAdminClient } from './serviceBusAdminClient';
export { EmulatorAdminError } from './remote';
export type { AdminClientOptions, RemoteAdmin } from './remote';
export type { AdminApi } from '../dataverse/http/admin';
export type { BulkDeleteRunResult } from '../dataverse/handlers/bulkDelete';
export type { RequestCounters, UserCounters } from '../dataverse/http/counters';
export type { FaultKind, FaultRule, FaultRuleInput } from '../dataverse/http/faults';
export type { LatencyOption, LatencyProfile } from '../dataverse/http/latency';
export type { LimitsOption, ServiceProtectionLimits } from '../dataverse/http/serviceProtection';
export type { ServiceBusEmulatorAdmin, DeadLetteredMessage } from '../servicebus/admin/ServiceBusEmulatorAdmin';
export type { RefuseAttachesOptions, DelaySendsOptions, FaultsSnapshot } from '../servicebus/admin/FaultInjector';
export type { DroppedDuplicate, EntitySummary } from '../servicebus/core/Broker';
export type { ShortQueueConfig, ShortTopicConfig } from '../servicebus/configuration/EmulatorConfig';
