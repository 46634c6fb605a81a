// Public barrel of the Dataverse Web API emulator (`@dataverse-outbox/emulators/dataverse`).
export { startDataverseEmulator } from './DataverseEmulator';
export type { DataverseEmulator, DataverseEmulatorOptions } from './DataverseEmulator';
export type { AdminApi } from './http/admin';
export type { BulkDeleteRunResult } from './handlers/bulkDelete';
export type { RequestCounters, UserCounters } from './http/counters';
export type { FaultKind, FaultRule, FaultRuleInput } from './http/faults';
export { REALISTIC_LATENCY } from './http/latency';
export type { LatencyOption, LatencyProfile } from './http/latency';
export { DATAVERSE_LIMITS, scaledDataverseLimits } from './http/serviceProtection';
export type { LimitsOption, ServiceProtectionLimits } from './http/serviceProtection';
export { DataverseError, isDataverseError } from './core/errors';
export type { DataverseErrorCode } from './core/errors';
export { ADMIN_WRITE_HEADER } from '../shared/localSurface';
