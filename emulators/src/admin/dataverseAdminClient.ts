// Client of the Dataverse emulator's admin endpoint (`<url>/_admin/...`, see dataverse/http/admin.ts): fault rules,
// latency, service protection limits, clock offset, request counters, bulk-delete runs and the change-tracking token
// lifetime, for harnesses in another process (chaos run, benchmarks, tests). The same operations as the programmatic
// AdminApi of an in-process DataverseEmulator, typed with its own types (RemoteAdmin keeps the two equal).
import type { AdminApi } from '../dataverse/http/admin';
import type { BulkDeleteRunResult } from '../dataverse/handlers/bulkDelete';
import type { RequestCounters } from '../dataverse/http/counters';
import type { FaultRule, FaultRuleInput } from '../dataverse/http/faults';
import type { LatencyOption, LatencyProfile } from '../dataverse/http/latency';
import type { LimitsOption, ServiceProtectionLimits } from '../dataverse/http/serviceProtection';
import { adminCall, trimBase, type AdminClientOptions } from './remote';
import type { RemoteAdmin } from './remote';

export class DataverseAdminClient implements RemoteAdmin<AdminApi> {
  private readonly base: string;
  private readonly timeoutMs: number;

  /** `url`: the emulator's base URL (DataverseEmulator.url, e.g. `http://127.0.0.1:5555`), not the Web API URL. */
  constructor(url: string, options: AdminClientOptions = {}) {
    this.base = `${trimBase(url)}/_admin`;
    this.timeoutMs = options.timeoutMs ?? 10_000;
  }

  private async call<T>(method: string, route: string, body?: unknown, allow?: readonly number[]): Promise<{ status: number; body: T }> {
    const r = await adminCall(method, `${this.base}/${route}`, { body, timeoutMs: this.timeoutMs, allow });
    return { status: r.status, body: r.body as T };
  }

  /** True when the emulator answers its health route. */
  async health(): Promise<boolean> {
    return (await this.call<{ status: string }>('GET', 'health')).body.status === 'ok';
  }

  async injectFault(rule: FaultRuleInput): Promise<FaultRule> {
    return (await this.call<FaultRule>('POST', 'faults', rule)).body;
  }

  async listFaults(): Promise<FaultRule[]> {
    return (await this.call<{ value: FaultRule[] }>('GET', 'faults')).body.value;
  }

  /** False when the rule is gone already (a count rule used up, or the emulator restarted). */
  async removeFault(id: string): Promise<boolean> {
    return (await this.call('DELETE', `faults/${encodeURIComponent(id)}`, undefined, [404])).status !== 404;
  }

  async clearFaults(): Promise<void> {
    await this.call('DELETE', 'faults');
  }

  async setLatency(latency: LatencyOption): Promise<void> {
    await this.call('PUT', 'latency', { latency });
  }

  /** The latency profile in force; undefined when latency is off. */
  async getLatency(): Promise<LatencyProfile | undefined> {
    const { latency } = (await this.call<{ latency: LatencyProfile | 'off' }>('GET', 'latency')).body;
    return latency === 'off' ? undefined : latency;
  }

  async setLimits(limits: LimitsOption): Promise<void> {
    await this.call('PUT', 'limits', { limits });
  }

  /** The service protection limits in force; undefined when they are off. */
  async getLimits(): Promise<ServiceProtectionLimits | undefined> {
    const { limits } = (await this.call<{ limits: ServiceProtectionLimits | 'off' }>('GET', 'limits')).body;
    return limits === 'off' ? undefined : limits;
  }

  /** Runs the due bulk-delete jobs (as if the clock read `now`) and resolves with their results when they finish. */
  async runDueBulkDeleteJobs(options: { now?: Date; batchSize?: number } = {}): Promise<BulkDeleteRunResult[]> {
    const body = { ...(options.now ? { now: options.now.toISOString() } : {}), ...(options.batchSize === undefined ? {} : { batchSize: options.batchSize }) };
    // A large table takes minutes: this call waits for the jobs, not for the default timeout.
    const r = await adminCall('POST', `${this.base}/bulkdelete/run`, { body, timeoutMs: Math.max(this.timeoutMs, 30 * 60_000) });
    return (r.body as { value: BulkDeleteRunResult[] }).value;
  }

  async getRequestCounters(): Promise<RequestCounters> {
    return (await this.call<RequestCounters>('GET', 'counters')).body;
  }

  async resetRequestCounters(): Promise<void> {
    await this.call('DELETE', 'counters');
  }

  /** Moves the emulator's clock (createdon, modifiedon, bulk-delete schedules) by `offsetMs` from real time. */
  async setClockOffset(offsetMs: number): Promise<void> {
    await this.call('PUT', 'clock', { offsetMs });
  }

  async getClockOffset(): Promise<number> {
    return (await this.call<{ offsetMs: number }>('GET', 'clock')).body.offsetMs;
  }

  /** How long a change-tracking delta token stays valid (an expired one answers as Dataverse does). */
  async setChangeTrackingTokenTtl(ttlMs: number): Promise<void> {
    await this.call('PUT', 'changetracking', { tokenTtlMs: ttlMs });
  }
}
