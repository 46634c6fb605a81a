// Public barrel of @dataverse-outbox/stack: the local stack's orchestrator (npm start, end-to-end test, chaos run) and
// the demo producer.
export { startStack, prepareStack, LocalStack, StackAlreadyRunningError } from './stack';
export type { StackOptions, StackEvent } from './stack';
export { ComponentProcess, ComponentStartError } from './process/ComponentProcess';
export type { ComponentSpec, ComponentState, ExitInfo } from './process/ComponentProcess';
export { componentSpecs, endpoints } from './components';
export { dataLayout, defaultDataDir, repoRoot, entryPoints } from './paths';
export type { DataLayout } from './paths';
export { readState, checkRunning, componentNames } from './state';
export type { ErpDatabase } from './config/erpDatabase';
export type { StackState, StackPorts, ComponentName, RunningCheck } from './state';
export { ACK_QUEUE, ERP_SALES_QUEUE, NOT_ALLOWED_TARGET, demoSettings, serviceBusEntities, LOCAL_DATAVERSE_TOKEN } from './config/localStack';
export { ensureMonitorBundle, monitorBundleStatus, pcfBundle } from './build';
