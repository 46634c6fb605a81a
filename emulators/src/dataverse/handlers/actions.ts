// Unbound functions and actions: WhoAmI, WinOpportunity (Microsoft Learn, Web API Function/Action Reference).
import { DataverseErrors } from '../core/errors';
import { parseJsonObject, resolveReference, type Engine } from '../core/engine';
import { emptyResponse, jsonResponse, type ApiRequest, type ApiResponse, type RequestContext } from '../core/protocol';
import { parseDateTime, storeDateTime, type StoredRow } from '../core/values';
import { OPPORTUNITY_STATE } from '../metadata/businessTables';
import { ORGANIZATION_ID, ROOT_BUSINESS_UNIT_ID } from '../metadata/systemTables';

export function whoAmI(engine: Engine, ctx: RequestContext): ApiResponse {
  const user = engine.store.get(engine.schema.entity('systemuser'), ctx.userId);
  ctx.cost.recordsRead++;
  return jsonResponse(200, {
    '@odata.context': `${ctx.apiBase}$metadata#Microsoft.Dynamics.CRM.WhoAmIResponse`,
    BusinessUnitId: (user?.['businessunitid'] as string | undefined) ?? ROOT_BUSINESS_UNIT_ID,
    UserId: ctx.userId,
    OrganizationId: ORGANIZATION_ID,
  });
}

/** WinOpportunity: {"Status": 3, "OpportunityClose": {"opportunityid@odata.bind": "/opportunities(id)", ...}}. */
export function winOpportunity(engine: Engine, req: ApiRequest, ctx: RequestContext): ApiResponse {
  const opportunity = engine.schema.entity('opportunity');
  const body = parseJsonObject(req, 'opportunity');
  const status = body['Status'];
  const close = body['OpportunityClose'];
  if (typeof status !== 'number' || close === null || typeof close !== 'object') {
    throw DataverseErrors.payload('opportunity', "WinOpportunity requires 'Status' (a number) and 'OpportunityClose' (an opportunityclose entity).");
  }
  const c = close as Record<string, unknown>;
  const ref = resolveReference(engine, ctx, opportunity, c['opportunityid@odata.bind'], 'opportunity', 'opportunityid');
  engine.store.transaction(() => {
    const row = engine.store.get(opportunity, ref.id) as StoredRow;
    if (row['statecode'] !== OPPORTUNITY_STATE.Open) throw DataverseErrors.invalidArgument('The opportunity is already closed. Only an open opportunity can be won.');
    const statusAttr = opportunity.attributes.get('statuscode');
    if (status !== 3) throw DataverseErrors.picklistOutOfRange(status, 'statuscode', 'opportunity', [3]);
    void statusAttr;
    const actualEnd = typeof c['actualend'] === 'string' ? parseDateTime(c['actualend']) : undefined;
    engine.store.update(
      opportunity,
      ref.id,
      {
        statecode: OPPORTUNITY_STATE.Won,
        statuscode: status,
        actualclosedate: storeDateTime(actualEnd ?? ctx.now),
        actualvalue: typeof c['actualrevenue'] === 'number' ? c['actualrevenue'] : (row['estimatedvalue'] ?? null),
      },
      ctx.userId,
    );
  });
  ctx.cost.recordsWritten++;
  return emptyResponse(204);
}
