// Node/TypeScript entry of the web resources workspace (tests, the PCF monitor, tools). The browser bundles are built
// from src/entries/*.ts into solution/src/WebResources/obx_/outbox/.
export * from './client/errors';
export * from './client/requests';
export * from './client/commit';
export * from './client/from-form';
export * from './shared/json-format';
export * from './commands/row-store';
export {
  runCommand,
  summarise,
  isEnabledForGrid,
  isEnabledForForm,
  runFromGrid,
  runFromForm,
  configure as configureCommands,
  type CommandEnvironment,
  type CommandRun,
  type RowOutcome,
  type RowResult,
} from './commands/commands';
export { onLoad as outboxMessageFormOnLoad, apply as applyOutboxMessageForm, statusNotification, FormNotificationIds, PayloadHiddenNotice, LockedStatuses, SystemManagedColumns } from './form/outboxmessage-form';
export { WebResourceFiles } from './web-resource-files';
