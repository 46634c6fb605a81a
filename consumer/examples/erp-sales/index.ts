// The erp-sales sample as a module: used by the local stack, the chaos test and the end-to-end test
// (`@dataverse-outbox/consumer/examples/erp-sales`).
export { createErpSalesService } from './service';
export type { ErpSalesService, ErpSalesServiceOptions } from './service';
export { ErpSalesEventTypes, toSalesOrder } from './salesOrderWon';
export type { SalesOrderDraft, SalesOrderWonPayload } from './salesOrderWon';
export { checkErpSalesInvariants, defaultErpSchema, readErpSalesState } from './store';
export type { ErpSalesDatabaseConfig, ErpSalesInvariantReport, ErpSalesState } from './store';
export { erpSalesEnv, readErpSalesConfig } from './config';
export type { ErpSalesConfig, ErpCrashPoint } from './config';

/** The command that runs the service from the repository root (for the local stack and process-level tests). */
export const erpSalesMainPath = require.resolve('./main');
