// The core: no HTTP, AMQP or SQL here.
export * from './errors';
export * from './row';
export * from './settings';
export * from './backoff';
export * from './mapping';
export * from './validation';
export * from './ordering';
export * from './acks';
export * from './health';
export * from './ports';
export * from './lease';
export * from './redact';
export * from './publishCycle';
export * from './ackProcessor';
export * from './rowUpdateErrors';
export * from './hostLoop';
export * from './refreshingSettings';
