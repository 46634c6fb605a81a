// Public barrel of the Service Bus emulator (`@dataverse-outbox/emulators/servicebus`).
export { startServiceBusEmulator, defaultMaxMessageSizeInBytes, defaultSharedAccessKey, defaultSharedAccessKeyName } from './ServiceBusEmulator';
export type { TlsCertificate } from './amqp/certificate';
export type { ServiceBusEmulator, ServiceBusEmulatorOptions } from './ServiceBusEmulator';
export {
  buildEmulatorConfig,
  parseEmulatorConfig,
  loadEmulatorConfigFile,
  ServiceBusEmulatorConfigError,
  isServiceBusEmulatorConfigError,
} from './configuration/EmulatorConfig';
export type {
  EmulatorConfig,
  ShortEmulatorConfig,
  ShortQueueConfig,
  ShortTopicConfig,
  ShortSubscriptionConfig,
  ShortCorrelationFilter,
  ShortRuleConfig,
} from './configuration/EmulatorConfig';
export type { ServiceBusEmulatorAdmin, DeadLetteredMessage } from './admin/ServiceBusEmulatorAdmin';
export type { RefuseAttachesOptions, DelaySendsOptions, FaultsSnapshot } from './admin/FaultInjector';
export type { DroppedDuplicate, EntitySummary } from './core/Broker';
export { ADMIN_WRITE_HEADER } from '../shared/localSurface';
