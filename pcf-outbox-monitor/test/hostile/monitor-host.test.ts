/**
 * @jest-environment node
 * @jest-environment-options {"customExportConditions": ["development", "node", "node-addons", "require", "default"]}
 */
// Hostile requests against the monitor host (page server + Dataverse proxy that adds the bearer token): forged Host
// (DNS rebinding), foreign Origin, cross-site text/plain posts, preflights, missing or wrong page token, methods it does
// not serve. Each is refused with its reason before anything reaches Dataverse, while the page's own proxied calls,
// sent at the same moment, still create their rows.
import { request } from 'node:http';
import { startDataverseEmulator, type DataverseEmulator } from '@dataverse-outbox/emulators/dataverse';
import { OutboxMessage } from '@dataverse-outbox/contract';
import { startMonitorHost, type MonitorHost } from '../../host';

const SET = OutboxMessage.entitySetName;
const API = '/api/data/v9.2/';
const TOKEN_HEADER = 'x-outbox-monitor-token';
let dataverse: DataverseEmulator;
let host: MonitorHost;
let port: number;
let pageToken: string;
let good = 0;

interface Res {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
}

function send(r: { method?: string; path: string; headers?: Record<string, string>; body?: string }): Promise<Res> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method: r.method ?? 'GET', path: r.path, headers: r.headers ?? {}, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('error', reject);
    req.end(r.body);
  });
}

const row = (messageId: string): string => JSON.stringify({ obx_name: messageId, obx_messageid: messageId, obx_target: 'orders', obx_payload: '{}' });
const pageCall = (method: string, path: string, body?: string): Promise<Res> =>
  send({ method, path: `${API}${path}`, headers: { [TOKEN_HEADER]: pageToken, 'Content-Type': 'application/json', Origin: `http://127.0.0.1:${port}` }, body });

async function messageIds(): Promise<string[]> {
  const res = await pageCall('GET', `${SET}?$select=obx_messageid&$orderby=obx_messageid`);
  return (JSON.parse(res.text) as { value: { obx_messageid: string }[] }).value.map((r) => r.obx_messageid);
}

beforeAll(async () => {
  dataverse = await startDataverseEmulator({ port: 0 });
  host = await startMonitorHost({ dataverseUrl: dataverse.url, token: 'monitor-host-test' });
  port = Number(new URL(host.url).port);
  // The page carries its token; only a page this host served (same origin) can read it.
  const page = await send({ path: '/' });
  pageToken = (JSON.parse(/window\.__OBX_HOST__ = (\{.*?\});/.exec(page.text)?.[1] ?? '{}') as { pageToken: string }).pageToken;
}, 60_000);
afterAll(async () => {
  await host?.close();
  await dataverse?.close();
});

interface Case {
  name: string;
  request: () => { method?: string; path: string; headers?: Record<string, string>; body?: string };
  status: number;
  reason: RegExp;
}

const cases: Case[] = [
  { name: 'forged Host on the page', request: () => ({ path: '/', headers: { Host: 'evil.example' } }), status: 403, reason: /DNS-rebinding/ },
  { name: 'DNS-rebinding Host with the right port on the proxy', request: () => ({ path: `${API}${SET}`, headers: { Host: `rebind.attacker.test:${port}`, [TOKEN_HEADER]: pageToken } }), status: 403, reason: /rebind\.attacker\.test/ },
  { name: 'cross-site text/plain form POST creating an outbox row', request: () => ({ method: 'POST', path: `${API}${SET}`, headers: { 'Content-Type': 'text/plain', Origin: 'https://evil.example' }, body: row('planted-1') }), status: 403, reason: /Cross-origin request refused/ },
  { name: 'POST without Origin and without the page token', request: () => ({ method: 'POST', path: `${API}${SET}`, headers: { 'Content-Type': 'text/plain' }, body: row('planted-2') }), status: 403, reason: /x-outbox-monitor-token/ },
  { name: 'POST with a wrong page token', request: () => ({ method: 'POST', path: `${API}${SET}`, headers: { 'Content-Type': 'application/json', [TOKEN_HEADER]: 'guessed' }, body: row('planted-3') }), status: 403, reason: /x-outbox-monitor-token/ },
  { name: 'GET through the proxy without the page token (reads carry the bearer token too)', request: () => ({ path: `${API}${SET}` }), status: 403, reason: /x-outbox-monitor-token/ },
  { name: 'OPTIONS preflight on the proxy', request: () => ({ method: 'OPTIONS', path: `${API}${SET}`, headers: { Origin: `http://127.0.0.1:${port}`, 'Access-Control-Request-Method': 'POST' } }), status: 403, reason: /CORS preflight refused/ },
  { name: 'Origin: null on a proxied PATCH', request: () => ({ method: 'PATCH', path: `${API}${SET}(00000000-0000-0000-0000-000000000001)`, headers: { Origin: 'null', [TOKEN_HEADER]: pageToken }, body: '{}' }), status: 403, reason: /Cross-origin request refused: Origin .{0,2}null/ },
  { name: 'a method the proxy does not serve (TRACE-like PROPFIND)', request: () => ({ method: 'PROPFIND', path: `${API}${SET}`, headers: { [TOKEN_HEADER]: pageToken } }), status: 405, reason: /not proxied/ },
  { name: 'POST to the page', request: () => ({ method: 'POST', path: '/', headers: { 'Content-Type': 'text/plain' }, body: 'x' }), status: 405, reason: /serves its page with GET/ },
  { name: 'protocol-relative request target naming another host (the bearer token must not follow)', request: () => ({ path: `//evil.example${API}${SET}`, headers: { [TOKEN_HEADER]: pageToken } }), status: 403, reason: /must be a path on this host/ },
  { name: 'absolute-form request target naming another host', request: () => ({ path: `http://evil.example${API}${SET}`, headers: { [TOKEN_HEADER]: pageToken } }), status: 403, reason: /must be a path on this host/ },
  { name: 'path traversal out of the platform folder', request: () => ({ path: '/platform/..%2F..%2F..%2Fpackage.json' }), status: 404, reason: /not found/ },
];

describe('monitor host', () => {
  test.each(cases.map((c) => [c.name, c] as const))('hostile: %s', async (_name, c) => {
    const before = await messageIds();
    const id = `good-${++good}`;
    const [res, created] = await Promise.all([send(c.request()), pageCall('POST', SET, row(id))]);
    expect(res.status).toBe(c.status);
    expect(res.text).toMatch(c.reason);
    expect(created.status).toBe(204);
    // Only the page's own row is new: nothing was planted.
    expect(await messageIds()).toEqual([...before, id].sort());
  });

  test('hostile: a bad %-escape through the proxy is the emulator\'s 400, not a proxy failure', async () => {
    const res = await pageCall('GET', `${SET}(%zz)`);
    expect(res.status).toBe(400);
    expect(res.text).toMatch(/invalid percent-encoded sequence/);
  });

  test('the page is not frameable and its own calls reach Dataverse without Origin, Cookie or the page token', async () => {
    const page = await send({ path: '/' });
    expect(page.headers['x-frame-options']).toBe('DENY');
    expect(page.headers['content-security-policy']).toContain("frame-ancestors 'none'");
    // Same-origin Origin and a cookie: the emulator refuses any foreign Origin, so a 200 shows the proxy dropped them.
    const res = await send({ path: `${API}${SET}?$top=1`, headers: { [TOKEN_HEADER]: pageToken, Origin: `http://127.0.0.1:${port}`, Cookie: 'session=1' } });
    expect(res.status).toBe(200);
    expect(res.headers['set-cookie']).toBeUndefined();
  });
});
