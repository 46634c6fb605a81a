// Public barrel of the emulators workspace. Each service is also reachable on its own subpath
// (`@dataverse-outbox/emulators/dataverse`, `@dataverse-outbox/emulators/servicebus`), and the typed clients of their
// admin endpoints on `@dataverse-outbox/emulators/admin` (which starts nothing and loads no server code).
export * from './dataverse';
export * from './servicebus';
export { DataverseAdminClient, ServiceBusAdminClient, EmulatorAdminError } from './admin';
export type { AdminClientOptions, RemoteAdmin } from './admin';
