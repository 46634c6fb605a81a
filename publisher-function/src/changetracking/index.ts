// Public API of the change-tracking source (re-exported by the package barrel).
export { ChangeTrackingError, isChangeTrackingError } from './errors';
export type { ChangeTrackingErrorCode } from './errors';
export { parseChangeTrackingSources, resolveChangeTrackingSources } from './config';
export type { ChangeTrackingSourceConfig, ResolvedSources } from './config';
export { ChangeTrackingProperties, changeMessageId, changeBody, toChangeMessage, toOmittedChangeMessage, versionFromEtag, contentVersion } from './mapping';
export type { ChangeKind, TrackedChange } from './mapping';
export type { ChangePage, DeltaReaderPort, ChangeCheckpoint, CheckpointChanges, CheckpointPort, ChangeTrackingMetrics } from './ports';
export { DataverseDeltaReader, deltaTokenFromLink, classifyTokenError } from './deltaReader';
export { DataverseCheckpointStore } from './checkpointStore';
export { runChangeTrackingCycle } from './cycle';
export type { ChangeCycleDeps, ChangeCycleMode, ChangeCycleResult } from './cycle';
export { ChangeTrackingPublisher, createChangeTrackingPublisher, noChangeTrackingMetrics } from './runner';
export type { ChangeTrackingPublisherOptions, ChangeSourceReport, ChangeTrackingSettings } from './runner';
export { createChangeTrackingPublisherFromAppSettings } from './bootstrap';
export type { ChangeTrackingHost } from './bootstrap';
export { createOtelChangeTrackingMetrics, ChangeTrackingMetricNames } from './telemetry';
