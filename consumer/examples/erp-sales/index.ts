// The erp-sales sample as a module: used by the local stack, the chaos test and the end-to-end test
// (`@dataverse-outbox/consumer/examples/erp-sales`).
export { createErpSalesService } from './service';
export type { ErpSalesService, ErpSalesServiceOptions } from './service';
export { ErpSalesEventTypes, toSalesOrder } from './salesOrderWon';
export type { SalesOrderDraft, SalesOrderWonPayload } from './salesOrderWon';
export { defaultErpSchema, readErpSalesState } from './store';
export type { ErpSalesDatabaseConfig, ErpSalesState } from './store';
export { erpSalesEnv, readErpSalesConfig } from './config';
export type { ErpSalesConfig, ErpCrashPoint } from './config';
