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
export { ACK_QUEUE, CANARY_QUEUE, ERP_SALES_QUEUE, NOT_ALLOWED_TARGET, demoSettings, serviceBusEntities, LOCAL_DATAVERSE_TOKEN } from './config/localStack';
export { ensureMonitorBundle, monitorBundleStatus, pcfBundle } from './build';
// The demo producer and the readers of what it left behind, which the chaos run (@dataverse-outbox/chaos) drives and
// audits with the same rules as `npm run demo`.
export { runDemoProducer, SALES_ORDER_WON } from './demo/producer';
export type { DemoProducerOptions, DemoProducerResult } from './demo/producer';
export { countAllByStatus, outOfOrderKeys, readSalesOrders } from './demo/observe';
export type { SalesOrderRow } from './demo/observe';
export { reasonKey } from './demo/summary';
