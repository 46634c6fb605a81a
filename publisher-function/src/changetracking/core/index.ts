// The change-tracking core: no HTTP, AMQP or SQL here (the Dataverse adapters are in ../dataverse).
export * from './errors';
export * from './config';
export * from './mapping';
export * from './ports';
export * from './cycle';
export * from './tracing';
