// The local admin endpoint (`/_admin/...`, JSON, no token; the pipeline lets through only local Host/Origin, and writes
// carrying the x-emulator-admin header): the same operations as the programmatic admin helpers of
// DataverseEmulator, for tests and scripts in other languages or processes.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { BulkDeleteRunResult } from '../handlers/bulkDelete';
import type { RequestCounters } from './counters';
import type { FaultRule, FaultRuleInput } from './faults';
import type { LatencyOption, LatencyProfile } from './latency';
import type { LimitsOption, ServiceProtectionLimits } from './serviceProtection';

export interface AdminApi {
  injectFault(rule: FaultRuleInput): FaultRule;
  listFaults(): FaultRule[];
  removeFault(id: string): boolean;
  clearFaults(): void;
  setLatency(latency: LatencyOption): void;
  getLatency(): LatencyProfile | undefined;
  setLimits(limits: LimitsOption): void;
  getLimits(): ServiceProtectionLimits | undefined;
  /**
   * Runs the due bulk-delete jobs beside the Web API (other requests are answered while they run); resolves with their
   * results when they finish. `batchSize`: rows per transaction (default 1,000).
   */
  runDueBulkDeleteJobs(options?: { now?: Date; batchSize?: number }): Promise<BulkDeleteRunResult[]>;
  getRequestCounters(): RequestCounters;
  resetRequestCounters(): void;
  setClockOffset(offsetMs: number): void;
  getClockOffset(): number;
  setChangeTrackingTokenTtl(ttlMs: number): void;
}

function reply(res: ServerResponse, status: number, body?: unknown): void {
  const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body), 'utf8');
  res.writeHead(status, payload ? { 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': String(payload.length) } : { 'Content-Length': '0' });
  res.end(payload);
}

function parse(body: Buffer): Record<string, unknown> {
  const text = body.toString('utf8').trim();
  if (text === '') return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    throw new Error(`The request body is not valid JSON: ${e instanceof Error ? e.message : String(e)}`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error('The request body must be a JSON object.');
  return parsed as Record<string, unknown>;
}

export function createAdminHandler(api: AdminApi): (req: IncomingMessage, res: ServerResponse, body: Buffer) => Promise<void> {
  return async (req, res, body) => {
    const url = new URL(req.url ?? '/', 'http://admin');
    const route = `${(req.method ?? 'GET').toUpperCase()} ${url.pathname.replace(/\/+$/, '')}`;
    try {
      const input = parse(body);
      const faultId = /^DELETE \/_admin\/faults\/([\w-]+)$/.exec(route)?.[1];
      if (faultId) return reply(res, api.removeFault(faultId) ? 204 : 404);
      switch (route) {
        case 'GET /_admin/health':
          return reply(res, 200, { status: 'ok' });
        case 'GET /_admin/faults':
          return reply(res, 200, { value: api.listFaults() });
        case 'POST /_admin/faults':
          return reply(res, 201, api.injectFault(input as unknown as FaultRuleInput));
        case 'DELETE /_admin/faults':
          api.clearFaults();
          return reply(res, 204);
        case 'GET /_admin/latency':
          return reply(res, 200, { latency: api.getLatency() ?? 'off' });
        case 'PUT /_admin/latency':
          api.setLatency(input['latency'] as LatencyOption);
          return reply(res, 200, { latency: api.getLatency() ?? 'off' });
        case 'GET /_admin/limits':
          return reply(res, 200, { limits: api.getLimits() ?? 'off' });
        case 'PUT /_admin/limits':
          api.setLimits(input['limits'] as LimitsOption);
          return reply(res, 200, { limits: api.getLimits() ?? 'off' });
        case 'POST /_admin/bulkdelete/run': {
          const now = typeof input['now'] === 'string' ? new Date(input['now']) : undefined;
          if (now && Number.isNaN(now.getTime())) return reply(res, 400, { error: { code: 'BadRequest', message: "'now' must be an ISO date-time." } });
          const batchSize = input['batchSize'];
          if (batchSize !== undefined && !(typeof batchSize === 'number' && Number.isInteger(batchSize) && batchSize > 0)) {
            return reply(res, 400, { error: { code: 'BadRequest', message: "'batchSize' must be a positive integer." } });
          }
          return reply(res, 200, { value: await api.runDueBulkDeleteJobs({ now, batchSize }) });
        }
        case 'GET /_admin/counters':
          return reply(res, 200, api.getRequestCounters());
        case 'DELETE /_admin/counters':
          api.resetRequestCounters();
          return reply(res, 204);
        case 'GET /_admin/clock':
          return reply(res, 200, { offsetMs: api.getClockOffset() });
        case 'PUT /_admin/clock':
          api.setClockOffset(Number(input['offsetMs']));
          return reply(res, 200, { offsetMs: api.getClockOffset() });
        case 'PUT /_admin/changetracking':
          api.setChangeTrackingTokenTtl(Number(input['tokenTtlMs']));
          return reply(res, 204);
        default:
          return reply(res, 404, { error: { code: 'NotFound', message: `No admin operation ${route}.` } });
      }
    } catch (e) {
      return reply(res, 400, { error: { code: 'BadRequest', message: e instanceof Error ? e.message : String(e) } });
    }
  };
}
