// Public barrel of the emulators workspace. Each service is also reachable on its own subpath
// (`@dataverse-outbox/emulators/dataverse`, `@dataverse-outbox/emulators/servicebus`).
export * from './dataverse';
export * from './servicebus';
