// BulkDelete (Microsoft Learn: "Delete data in bulk", BulkDelete action): the job is stored as an asyncoperation
// (operationtype 13) with a bulkdeleteoperation beside it, scheduled at StartDateTime and repeated per
// RecurrencePattern. Jobs run when the admin endpoint asks (`runDueBulkDeleteJobs`): like Dataverse's asynchronous
// service, each job runs beside the Web API, deleting in batches: every batch is its own transaction whose rows are
// selected by the job's own query inside it (so a row that stopped matching meanwhile is never touched), and the job
// yields to the event loop between batches so other requests are answered while it runs.
import { DataverseErrors } from '../core/errors';
import { entityForSet, parseJsonObject, type Engine } from '../core/engine';
import { jsonResponse, type ApiRequest, type ApiResponse, type RequestContext } from '../core/protocol';
import { parseDateTime, storeDateTime, type StoredRow } from '../core/values';
import type { EntityDef } from '../metadata/model';
import { ASYNC_STATE, ASYNC_STATUS, OPERATION_TYPE_BULK_DELETE } from '../metadata/systemTables';
import { quoteIdent } from '../persistence/store';
import { conditionSql, operatorFromQueryExpression, type SqlFragment } from '../query/conditions';

const REQUIRED = ['QuerySet', 'JobName', 'SendEmailNotification', 'ToRecipients', 'CCRecipients', 'RecurrencePattern', 'StartDateTime'] as const;

interface QueryExpressionJson {
  EntityName?: unknown;
  Criteria?: unknown;
}

function entityByLogical(engine: Engine, name: unknown): EntityDef {
  if (typeof name !== 'string' || !engine.schema.hasEntity(name)) {
    throw DataverseErrors.invalidArgument(`The entity with a name = '${String(name)}' with namemapping = 'Logical' was not found in the MetadataCache.`);
  }
  return engine.schema.entity(name);
}

function conditionValue(v: unknown): unknown {
  // Web API QueryExpression values come as {"Value": "...", "Type": "System.Int32"}; accept plain values too.
  if (v !== null && typeof v === 'object' && 'Value' in (v as Record<string, unknown>)) return (v as Record<string, unknown>)['Value'];
  return v;
}

/** QueryExpression FilterExpression JSON -> SQL. */
export function criteriaSql(entity: EntityDef, now: number, criteria: unknown): SqlFragment {
  if (criteria === undefined || criteria === null) return { sql: '1', params: [] };
  if (typeof criteria !== 'object') throw DataverseErrors.invalidArgument('Criteria must be a FilterExpression object.');
  const c = criteria as Record<string, unknown>;
  const opRaw = c['FilterOperator'] ?? 'And';
  const op = opRaw === 'Or' || opRaw === 1 ? 'OR' : opRaw === 'And' || opRaw === 0 ? 'AND' : undefined;
  if (!op) throw DataverseErrors.invalidArgument(`FilterOperator '${String(opRaw)}' is not valid.`);
  const parts: SqlFragment[] = [];
  for (const cond of (Array.isArray(c['Conditions']) ? c['Conditions'] : []) as Record<string, unknown>[]) {
    const name = cond['AttributeName'];
    const attr = typeof name === 'string' ? entity.attributes.get(name) : undefined;
    if (!attr) throw DataverseErrors.fetchNoAttribute(entity.logicalName, String(name));
    const operator = operatorFromQueryExpression(String(cond['Operator']));
    const values = (Array.isArray(cond['Values']) ? cond['Values'] : []).map(conditionValue);
    parts.push(conditionSql({ entity, now, userId: null }, attr, operator, values));
  }
  for (const f of (Array.isArray(c['Filters']) ? c['Filters'] : []) as unknown[]) parts.push(criteriaSql(entity, now, f));
  if (parts.length === 0) return { sql: '1', params: [] };
  return { sql: `(${parts.map((p) => p.sql).join(` ${op} `)})`, params: parts.flatMap((p) => p.params) };
}

/** `FREQ=DAILY;INTERVAL=1;` -> milliseconds or months to add; empty pattern = run once. */
function parseRecurrence(pattern: string): { unit: 'ms' | 'months'; amount: number } | undefined {
  if (pattern.trim() === '') return undefined;
  const parts = new Map(pattern.split(';').filter(Boolean).map((p) => p.split('=') as [string, string]));
  const interval = Number(parts.get('INTERVAL') ?? '1');
  if (!Number.isInteger(interval) || interval <= 0) throw DataverseErrors.invalidArgument(`The recurrence pattern '${pattern}' is not valid.`);
  switch (parts.get('FREQ')) {
    case 'MINUTELY':
      return { unit: 'ms', amount: interval * 60_000 };
    case 'HOURLY':
      return { unit: 'ms', amount: interval * 3_600_000 };
    case 'DAILY':
      return { unit: 'ms', amount: interval * 86_400_000 };
    case 'WEEKLY':
      return { unit: 'ms', amount: interval * 7 * 86_400_000 };
    case 'MONTHLY':
      return { unit: 'months', amount: interval };
    case 'YEARLY':
      return { unit: 'months', amount: 12 * interval };
    default:
      throw DataverseErrors.invalidArgument(`The recurrence pattern '${pattern}' is not valid.`);
  }
}

function advance(ms: number, r: { unit: 'ms' | 'months'; amount: number }): number {
  if (r.unit === 'ms') return ms + r.amount;
  const d = new Date(ms);
  d.setUTCMonth(d.getUTCMonth() + r.amount);
  return d.getTime();
}

export function bulkDelete(engine: Engine, req: ApiRequest, ctx: RequestContext): ApiResponse {
  const body = parseJsonObject(req, '');
  for (const p of REQUIRED) {
    if (!(p in body)) throw DataverseErrors.payload('', `The parameter '${p}' of the operation 'BulkDelete' is required but was not provided.`);
  }
  const querySet = body['QuerySet'];
  if (!Array.isArray(querySet) || querySet.length === 0) throw DataverseErrors.invalidArgument('QuerySet must contain at least one QueryExpression.');
  // Validate every query now, so a bad job is refused at submission, not at run time.
  for (const q of querySet as QueryExpressionJson[]) criteriaSql(entityByLogical(engine, q.EntityName), ctx.now, q.Criteria);
  const pattern = typeof body['RecurrencePattern'] === 'string' ? body['RecurrencePattern'] : '';
  parseRecurrence(pattern);
  const start = typeof body['StartDateTime'] === 'string' ? parseDateTime(body['StartDateTime']) : undefined;
  if (start === undefined) throw DataverseErrors.cannotConvert('', body['StartDateTime'], 'Edm.DateTimeOffset');
  const jobName = typeof body['JobName'] === 'string' ? body['JobName'] : 'Bulk Delete';
  const asyncOp = engine.schema.entity('asyncoperation');
  const bdo = engine.schema.entity('bulkdeleteoperation');
  const job = engine.store.transaction(() => {
    const row = engine.store.insert(
      asyncOp,
      {
        name: jobName,
        operationtype: OPERATION_TYPE_BULK_DELETE,
        statecode: ASYNC_STATE.Ready,
        statuscode: ASYNC_STATUS.Waiting,
        recurrencepattern: pattern,
        recurrencestarttime: storeDateTime(start),
        postponeuntil: storeDateTime(start),
        data: JSON.stringify(querySet),
      },
      ctx.userId,
    );
    engine.store.insert(
      bdo,
      {
        name: jobName,
        asyncoperationid: row['asyncoperationid'] as string,
        isrecurring: pattern.trim() === '' ? 0 : 1,
        nextrun: storeDateTime(start),
        orderedquerysetxml: JSON.stringify(querySet),
        statecode: ASYNC_STATE.Ready,
        statuscode: ASYNC_STATUS.Waiting,
      },
      ctx.userId,
    );
    return row;
  });
  ctx.cost.recordsWritten += 2;
  return jsonResponse(200, { '@odata.context': `${ctx.apiBase}$metadata#Microsoft.Dynamics.CRM.BulkDeleteResponse`, JobId: job['asyncoperationid'] });
}

export interface BulkDeleteRunResult {
  jobId: string;
  name: string;
  deleted: number;
  /** Next scheduled run for recurring jobs; undefined when the job is completed. */
  nextRunOn?: string;
}

export interface BulkDeleteRunOptions {
  /** Rows deleted per transaction (default 1,000). */
  batchSize?: number;
  /** Checked between batches: when true the job stops early and is left Waiting, to run again next time. */
  shouldStop?: () => boolean;
}

const yieldToEventLoop = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/**
 * Runs every bulk delete job whose time has come, asynchronously: `batchSize` rows per transaction, yielding to the
 * event loop between batches. While a job runs it is Locked / In Progress; the promise resolves when all are done.
 */
export async function runDueBulkDeleteJobs(engine: Engine, now: number, options: BulkDeleteRunOptions = {}): Promise<BulkDeleteRunResult[]> {
  const batchSize = options.batchSize ?? 1000;
  const stopped = options.shouldStop ?? ((): boolean => false);
  const asyncOp = engine.schema.entity('asyncoperation');
  const bdo = engine.schema.entity('bulkdeleteoperation');
  const due = engine.store.all(
    `SELECT * FROM asyncoperation WHERE operationtype = ? AND statecode = ? AND (postponeuntil IS NULL OR postponeuntil <= ?) ORDER BY postponeuntil`,
    [OPERATION_TYPE_BULK_DELETE, ASYNC_STATE.Ready, storeDateTime(now)],
  );
  const results: BulkDeleteRunResult[] = [];
  for (const job of due) {
    if (stopped()) break;
    const jobId = job['asyncoperationid'] as string;
    // Another run may have taken this job while an earlier one was running.
    const current = engine.store.all('SELECT statecode FROM asyncoperation WHERE asyncoperationid = ?', [jobId])[0] as StoredRow | undefined;
    if (current?.['statecode'] !== ASYNC_STATE.Ready) continue;
    engine.store.update(asyncOp, jobId, { statecode: ASYNC_STATE.Locked, statuscode: ASYNC_STATUS.InProgress, startedon: storeDateTime(now) }, null);
    let deleted = 0;
    let failure: string | undefined;
    let interrupted = false;
    try {
      const querySet = JSON.parse(String(job['data'])) as QueryExpressionJson[];
      for (const q of querySet) {
        const entity = entityByLogical(engine, q.EntityName);
        const where = criteriaSql(entity, now, q.Criteria);
        const select = `SELECT ${quoteIdent(entity.primaryIdAttribute)} AS id FROM ${quoteIdent(entity.logicalName)} WHERE ${where.sql} LIMIT ${batchSize}`;
        for (;;) {
          // Each batch re-evaluates the query inside its own transaction.
          const n = engine.store.transaction(() => {
            const ids = engine.store.all(select, where.params) as unknown as { id: string }[];
            for (const r of ids) engine.store.delete(entity, r.id);
            return ids.length;
          });
          deleted += n;
          if (n < batchSize) break;
          await yieldToEventLoop();
          if (stopped()) {
            interrupted = true;
            break;
          }
        }
        if (interrupted) break;
      }
    } catch (e) {
      failure = e instanceof Error ? e.message : String(e);
    }
    const recurrence = parseRecurrence(String(job['recurrencepattern'] ?? ''));
    let nextRun: number | undefined;
    if (interrupted) {
      // Left Waiting and due, so the next run finishes it.
      nextRun = parseDateTime(String(job['postponeuntil'] ?? '')) ?? now;
    } else if (recurrence && !failure) {
      nextRun = parseDateTime(String(job['postponeuntil'] ?? '')) ?? now;
      while (nextRun <= now) nextRun = advance(nextRun, recurrence);
    }
    engine.store.transaction(() => {
      engine.store.update(
        asyncOp,
        jobId,
        nextRun !== undefined
          ? { statecode: ASYNC_STATE.Ready, statuscode: ASYNC_STATUS.Waiting, postponeuntil: storeDateTime(nextRun), completedon: storeDateTime(now) }
          : {
              statecode: ASYNC_STATE.Completed,
              statuscode: failure ? ASYNC_STATUS.Failed : ASYNC_STATUS.Succeeded,
              completedon: storeDateTime(now),
              message: failure ?? null,
            },
        null,
      );
      const op = engine.store.all('SELECT * FROM bulkdeleteoperation WHERE asyncoperationid = ?', [jobId])[0] as StoredRow | undefined;
      if (op) {
        engine.store.update(
          bdo,
          op['bulkdeleteoperationid'] as string,
          {
            successcount: Number(op['successcount'] ?? 0) + deleted,
            failurecount: Number(op['failurecount'] ?? 0) + (failure ? 1 : 0),
            nextrun: nextRun !== undefined ? storeDateTime(nextRun) : null,
            statecode: nextRun !== undefined ? ASYNC_STATE.Ready : ASYNC_STATE.Completed,
            statuscode: nextRun !== undefined ? ASYNC_STATUS.Waiting : failure ? ASYNC_STATUS.Failed : ASYNC_STATUS.Succeeded,
          },
          null,
        );
      }
    });
    results.push({ jobId, name: String(job['name'] ?? ''), deleted, nextRunOn: nextRun !== undefined ? storeDateTime(nextRun) : undefined });
  }
  return results;
}

export { entityForSet };
