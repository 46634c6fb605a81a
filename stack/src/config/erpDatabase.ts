// Where the sample ERP keeps its data (inbox + sales_order). The same shape as ErpSalesDatabaseConfig of
// @dataverse-outbox/consumer/examples/erp-sales, declared here because the consumer's examples are compiled by the
// consumer's own build step, after the root `tsc -b` that compiles this workspace: importing their types would break a
// fresh clone's build. stack/test/e2e.test.ts passes values of this type to the sample's own functions, so the two are
// type-checked against each other there.
export type ErpDatabase = { kind: 'postgres'; url: string; /** default `erp_sales` */ schema?: string } | { kind: 'sqlite'; file: string };
