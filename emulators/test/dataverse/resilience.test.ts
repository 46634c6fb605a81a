// Conformance: service protection limits (Microsoft Learn: "Service protection API limits": 429 + Retry-After with
// codes 0x80072322 / 0x80072321 / 0x80072326), the latency model, fault injection, the admin endpoint, and HTTPS.
import { request as httpsRequest } from 'node:https';
import { OutboxMessage } from '@dataverse-outbox/contract';
import { ADMIN_WRITE_HEADER, REALISTIC_LATENCY, type DataverseEmulator } from '@dataverse-outbox/emulators/dataverse';
import { outboxRow, startEmulator, type WebApi } from './support';

const SET = OutboxMessage.entitySetName;

describe('service protection limits', () => {
  let emulator: DataverseEmulator;
  let api: WebApi;
  afterEach(async () => {
    await emulator.close();
  });

  test('requests over the per-user limit in the window get 429 0x80072322 with Retry-After; other users are not affected', async () => {
    ({ emulator, api } = await startEmulator({ limits: { windowMs: 60_000, maxRequests: 3 } }));
    for (let i = 0; i < 3; i++) expect((await api.get('WhoAmI')).status).toBe(200);
    const throttled = await api.get('WhoAmI');
    expect(throttled.status).toBe(429);
    expect(throttled.json).toEqual({ error: { code: '0x80072322', message: 'Number of requests exceeded the limit of 3 over time window of 60 seconds.' } });
    expect(Number(throttled.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect((await api.get('WhoAmI', { token: 'someone-else' })).status).toBe(200);
    expect(emulator.getRequestCounters().users['test-user']?.throttled).toBe(1);
  });

  test('the window slides: after it passes, requests are admitted again', async () => {
    ({ emulator, api } = await startEmulator({ limits: { windowMs: 400, maxRequests: 2 } }));
    await api.get('WhoAmI');
    await api.get('WhoAmI');
    expect((await api.get('WhoAmI')).status).toBe(429);
    const deadline = Date.now() + 10_000;
    let status = 429;
    while (status === 429 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 100));
      status = (await api.get('WhoAmI')).status;
    }
    expect(status).toBe(200);
  });

  test('combined execution time over the limit gets 0x80072321 (simulated latency counts)', async () => {
    ({ emulator, api } = await startEmulator({ limits: { windowMs: 60_000, maxExecutionMs: 100 }, latency: { perRequestMs: 60, perRecordReadMs: 0, perRecordWrittenMs: 0 } }));
    await api.get('WhoAmI');
    await api.get('WhoAmI');
    const res = await api.get('WhoAmI');
    expect(res.status).toBe(429);
    expect((res.json['error'] as { code: string }).code).toBe('0x80072321');
  });

  test('concurrent requests over the limit get 0x80072326', async () => {
    ({ emulator, api } = await startEmulator({ limits: { windowMs: 60_000, maxConcurrent: 2 }, latency: { perRequestMs: 300, perRecordReadMs: 0, perRecordWrittenMs: 0 } }));
    const results = await Promise.all(Array.from({ length: 4 }, () => api.get('WhoAmI')));
    const codes = results.filter((r) => r.status === 429).map((r) => (r.json['error'] as { code: string }).code);
    expect(codes.length).toBeGreaterThanOrEqual(1);
    expect(new Set(codes)).toEqual(new Set(['0x80072326']));
  });
});

describe('latency model', () => {
  test("'realistic' adds 50 ms per request + 5 ms per record written; switchable at run time", async () => {
    const { emulator, api } = await startEmulator({ latency: 'realistic' });
    try {
      expect(emulator.getLatency()).toEqual(REALISTIC_LATENCY);
      const targets = Array.from({ length: 20 }, (_, i) => ({ ...outboxRow(`lat-${i}`), '@odata.type': `Microsoft.Dynamics.CRM.${OutboxMessage.logicalName}` }));
      const t0 = performance.now();
      expect((await api.post(`${SET}/Microsoft.Dynamics.CRM.CreateMultiple`, { Targets: targets })).status).toBe(200);
      expect(performance.now() - t0).toBeGreaterThanOrEqual(150 - 5); // 50 + 20 x 5
      expect(emulator.getRequestCounters().total.executionMs).toBeGreaterThanOrEqual(145);
      emulator.setLatency('off');
      expect(emulator.getLatency()).toBeUndefined();
    } finally {
      await emulator.close();
    }
  });
});

describe('fault injection', () => {
  let emulator: DataverseEmulator;
  let api: WebApi;
  beforeEach(async () => {
    ({ emulator, api } = await startEmulator());
  });
  afterEach(async () => {
    await emulator.close();
  });

  test('the next N requests to one entity set and verb fail with 429 + Retry-After; others pass', async () => {
    emulator.injectFault({ kind: '429', count: 2, entitySet: SET, method: 'POST', retryAfterSeconds: 7 });
    expect((await api.get(SET)).status).toBe(200);
    const first = await api.post(SET, outboxRow('f-1'));
    expect(first.status).toBe(429);
    expect(first.headers.get('retry-after')).toBe('7');
    expect((await api.post(SET, outboxRow('f-1'))).status).toBe(429);
    expect((await api.post(SET, outboxRow('f-1'))).status).toBe(204);
    expect(emulator.listFaults()).toEqual([]);
  });

  test('503 and a dropped connection; a drop after the request ran keeps its write (the caller never hears)', async () => {
    emulator.injectFault({ kind: '503', count: 1 });
    expect((await api.get(SET)).status).toBe(503);
    emulator.injectFault({ kind: 'drop', count: 1, phase: 'after', method: 'POST' });
    await expect(api.post(SET, outboxRow('dropped-but-written'))).rejects.toThrow();
    expect(await api.rows(SET, "$filter=obx_messageid eq 'dropped-but-written'")).toHaveLength(1);
    emulator.injectFault({ kind: 'drop', count: 1, method: 'POST' });
    await expect(api.post(SET, outboxRow('dropped-before'))).rejects.toThrow();
    expect(await api.rows(SET, "$filter=obx_messageid eq 'dropped-before'")).toHaveLength(0);
  });

  test('a timeout holds the request until the client gives up', async () => {
    emulator.injectFault({ kind: 'timeout', count: 1, timeoutMs: 60_000 });
    const started = Date.now();
    await expect(fetch(`${emulator.apiUrl}WhoAmI`, { headers: { Authorization: 'Bearer t' }, signal: AbortSignal.timeout(300) })).rejects.toThrow();
    expect(Date.now() - started).toBeGreaterThanOrEqual(250);
    expect((await api.get('WhoAmI')).status).toBe(200);
  });

  test('a rate applies to a share of requests, reproducibly', async () => {
    emulator.injectFault({ kind: '503', rate: 0.5 });
    const statuses: number[] = [];
    for (let i = 0; i < 40; i++) statuses.push((await api.get('WhoAmI')).status);
    const failed = statuses.filter((s) => s === 503).length;
    expect(failed).toBeGreaterThan(5);
    expect(failed).toBeLessThan(35);
  });

  test('the admin endpoint injects and lists faults, switches latency and limits, reports counters', async () => {
    const admin = async (method: string, path: string, body?: unknown): Promise<{ status: number; json: unknown }> => {
      const res = await fetch(`${emulator.url}/_admin/${path}`, { method, headers: { [ADMIN_WRITE_HEADER]: '1' }, body: body === undefined ? undefined : JSON.stringify(body) });
      const text = await res.text();
      return { status: res.status, json: text ? (JSON.parse(text) as unknown) : undefined };
    };
    expect((await admin('GET', 'health')).json).toEqual({ status: 'ok' });
    const rule = await admin('POST', 'faults', { kind: '503', count: 5, entitySet: 'accounts' });
    expect(rule.status).toBe(201);
    expect((await admin('GET', 'faults')).json).toMatchObject({ value: [{ kind: '503', remaining: 5, entitySet: 'accounts' }] });
    expect((await api.get('accounts')).status).toBe(503);
    expect((await admin('DELETE', 'faults')).status).toBe(204);
    expect((await api.get('accounts')).status).toBe(200);
    expect((await admin('PUT', 'latency', { latency: 'realistic' })).json).toEqual({ latency: REALISTIC_LATENCY });
    expect((await admin('PUT', 'limits', { limits: { windowMs: 1000, maxRequests: 1 } })).status).toBe(200);
    expect((await admin('PUT', 'limits', { limits: 'off' })).json).toEqual({ limits: 'off' });
    expect((await admin('POST', 'faults', { kind: 'bogus' })).status).toBe(400);
    const counters = (await admin('GET', 'counters')).json as { users: Record<string, { requests: number; byOperation: Record<string, number> }> };
    expect(counters.users['test-user']?.byOperation['GET accounts']).toBe(2);
    expect((await admin('DELETE', 'counters')).status).toBe(204);
    expect(((await admin('GET', 'counters')).json as { total: { requests: number } }).total.requests).toBe(0);
  });
});

describe('HTTPS', () => {
  test("https: 'generate' serves TLS with a self-signed certificate the client can trust", async () => {
    const { emulator } = await startEmulator({ https: 'generate' });
    try {
      expect(emulator.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
      expect(emulator.certificate).toContain('BEGIN CERTIFICATE');
      const status = await new Promise<number>((resolve, reject) => {
        const req = httpsRequest(`${emulator.apiUrl}WhoAmI`, { headers: { Authorization: 'Bearer tls-user' }, ca: emulator.certificate }, (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        });
        req.on('error', reject);
        req.end();
      });
      expect(status).toBe(200);
    } finally {
      await emulator.close();
    }
  });
});
