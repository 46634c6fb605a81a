// Hostile input against the Dataverse emulator's HTTP surface (Web API, $batch, FetchXML, /_admin/): each case gets a
// specific status and error, never a 500, and a good request sent at the same moment still completes while nothing
// that existed changes. Forged Host (DNS rebinding) and foreign Origin (cross-site pages) are refused before any work.
import { OutboxMessage } from '@dataverse-outbox/contract';
import { ADMIN_WRITE_HEADER, type DataverseEmulator } from '@dataverse-outbox/emulators/dataverse';
import { outboxRow, startEmulator, type WebApi } from '../dataverse/support';
import { raw, type RawRequest, type RawResponse } from './rawHttp';

const SET = OutboxMessage.entitySetName;
const API = '/api/data/v9.2/';
const MAX_BYTES = 256 * 1024;
let emulator: DataverseEmulator;
let api: WebApi;
let keptId: string;
let goodCount = 0;

beforeAll(async () => {
  ({ emulator, api } = await startEmulator({ maxRequestBytes: MAX_BYTES }));
  keptId = await api.create(SET, outboxRow('kept'));
});
afterAll(async () => {
  await emulator.close();
});

const own = (): string => `127.0.0.1:${emulator.port}`;
const auth = { Authorization: 'Bearer test-user', Accept: 'application/json' };
const json = { ...auth, 'Content-Type': 'application/json' };
const get = (path: string, headers: Record<string, string> = {}): RawRequest => ({ path: `${API}${path}`, headers: { ...auth, ...headers } });
const batch = (body: string, boundary = 'b'): RawRequest => ({
  method: 'POST',
  path: `${API}$batch`,
  headers: { ...auth, 'Content-Type': `multipart/mixed; boundary=${boundary}`, Prefer: 'odata.continue-on-error' },
  body,
});
const part = (requestLine: string, body = '', headers = ''): string =>
  `--b\r\nContent-Type: application/http\r\nContent-Transfer-Encoding: binary\r\n\r\n${requestLine} HTTP/1.1\r\nAccept: application/json\r\n${headers}\r\n${body}\r\n`;
const fetchXml = (inner: string): string => `<fetch><entity name="${OutboxMessage.logicalName}"><attribute name="obx_name"/>${inner}</entity></fetch>`;

interface Case {
  name: string;
  request: () => RawRequest;
  status: number;
  code?: string;
  message?: RegExp;
  /** Extra checks on the answer (a $batch's parts). */
  also?: (res: RawResponse) => void;
}

function errorOf(res: RawResponse): { code?: string; message?: string } {
  const e = res.json.error;
  return typeof e === 'object' && e !== null ? e : {};
}

const surface: Case[] = [
  { name: 'forged Host on a Web API read', request: () => ({ ...get(SET), headers: { ...auth, Host: 'evil.example' } }), status: 403, code: '0x80040220', message: /Host header "evil.example" is not this local server.*DNS-rebinding/ },
  { name: 'DNS-rebinding Host (attacker name, right port) on a write', request: () => ({ method: 'POST', path: `${API}${SET}`, headers: { ...json, Host: `rebind.attacker.test:${emulator.port}` }, body: JSON.stringify(outboxRow('rebound')) }), status: 403, code: '0x80040220', message: /rebind\.attacker\.test/ },
  { name: 'loopback Host with another port', request: () => ({ ...get(SET), headers: { ...auth, Host: '127.0.0.1:1' } }), status: 403, message: /port/ },
  // Node's HTTP parser refuses an HTTP/1.1 request without Host before the emulator sees it.
  { name: 'no Host header at all', request: () => ({ ...get(SET), setHost: false }), status: 400 },
  { name: 'Host with userinfo and a path', request: () => ({ ...get(SET), headers: { ...auth, Host: `evil@127.0.0.1:${emulator.port}/x` } }), status: 403, message: /not this local server/ },
  { name: 'foreign Origin on a Web API write (cross-site fetch with a stolen token)', request: () => ({ method: 'POST', path: `${API}${SET}`, headers: { ...json, Origin: 'https://evil.example' }, body: JSON.stringify(outboxRow('cross-site')) }), status: 403, code: '0x80040220', message: /Cross-origin requests are refused: Origin "https:\/\/evil.example"/ },
  { name: 'Origin: null (sandboxed iframe, file://)', request: () => ({ ...get(SET), headers: { ...auth, Origin: 'null' } }), status: 403, message: /Origin "null"/ },
  { name: 'same host, other scheme as Origin', request: () => ({ ...get(SET), headers: { ...auth, Origin: `https://${own()}` } }), status: 403, message: /Cross-origin/ },
  { name: 'OPTIONS preflight from a foreign origin on the Web API', request: () => ({ method: 'OPTIONS', path: `${API}${SET}`, headers: { Origin: 'https://evil.example', 'Access-Control-Request-Method': 'POST' } }), status: 403, also: (res) => expect(res.headers['access-control-allow-origin']).toBeUndefined() },
  { name: 'cross-site text/plain form POST to /_admin/faults', request: () => ({ method: 'POST', path: '/_admin/faults', headers: { 'Content-Type': 'text/plain', Origin: 'https://evil.example' }, body: '{"kind":"503","count":1000}' }), status: 403, message: /Cross-origin/ },
  { name: 'text/plain POST to /_admin/faults without the admin header (no Origin: old browser form)', request: () => ({ method: 'POST', path: '/_admin/faults', headers: { 'Content-Type': 'text/plain' }, body: '{"kind":"503","count":1000}' }), status: 403, message: /x-emulator-admin/ },
  { name: 'admin header with an empty value', request: () => ({ method: 'DELETE', path: '/_admin/counters', headers: { [ADMIN_WRITE_HEADER]: ' ' } }), status: 403, message: /x-emulator-admin/ },
  { name: 'OPTIONS preflight on /_admin/ (same origin, no Origin)', request: () => ({ method: 'OPTIONS', path: '/_admin/faults' }), status: 403, message: /CORS preflight refused/ },
  { name: 'DNS-rebinding read of /_admin/counters', request: () => ({ path: '/_admin/counters', headers: { Host: `attacker.test:${emulator.port}` } }), status: 403, message: /DNS-rebinding/ },
  { name: 'absolute-form request target naming /_admin/ without the header', request: () => ({ method: 'POST', path: `http://${own()}/_admin/faults`, headers: { 'Content-Type': 'text/plain' }, body: '{"kind":"drop"}' }), status: 403, message: /x-emulator-admin/ },
];

const parsers: Case[] = [
  { name: 'bad %-escape in a key segment', request: () => get(`${SET}(%zz)`), status: 400, code: '0x80060888', message: /invalid percent-encoded sequence/ },
  { name: 'cut UTF-8 %-sequence in the entity set', request: () => get(`${SET}%E0%A4%A`), status: 400, code: '0x80060888', message: /invalid percent-encoded sequence/ },
  { name: 'XXE DOCTYPE in FetchXML', request: () => get(`${SET}?fetchXml=${encodeURIComponent(`<?xml version="1.0"?><!DOCTYPE fetch [<!ENTITY x SYSTEM "file:///etc/passwd">]>${fetchXml('<filter><condition attribute="obx_name" operator="eq" value="&x;"/></filter>')}`)}`), status: 400, code: '0x80041102', message: /DTD is prohibited/ },
  { name: 'entity-expansion bomb in FetchXML', request: () => get(`${SET}?fetchXml=${encodeURIComponent(`<!DOCTYPE l [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;&a;">]>${fetchXml('<filter><condition attribute="obx_name" operator="eq" value="&b;"/></filter>')}`)}`), status: 400, code: '0x80041102', message: /DTD is prohibited/ },
  { name: 'FetchXML filters nested 60 deep', request: () => get(`${SET}?fetchXml=${encodeURIComponent(fetchXml(`${'<filter>'.repeat(60)}${'</filter>'.repeat(60)}`))}`), status: 400, code: '0x80041102', message: /nested more than 50 levels/ },
  { name: '$filter parentheses nested 5,000 deep', request: () => get(`${SET}?$filter=${encodeURIComponent(`${'('.repeat(5000)}obx_name eq 'x'${')'.repeat(5000)}`)}`), status: 400, code: '0x80060888', message: /recursion limit has been exceeded.*\$filter.*100 levels/ },
  { name: '$filter with 150 nested not', request: () => get(`${SET}?$filter=${encodeURIComponent(`${'not '.repeat(150)}obx_name eq 'x'`)}`), status: 400, code: '0x80060888', message: /recursion limit/ },
  { name: 'JSON body nested 10,000 deep', request: () => ({ method: 'POST', path: `${API}${SET}`, headers: json, body: `{"obx_name":${'{"a":'.repeat(10_000)}1${'}'.repeat(10_000)}}` }), status: 400, code: '0x80048d19', message: /nested more than 100 levels deep/ },
  { name: 'JSON array body nested 50,000 deep', request: () => ({ method: 'POST', path: `${API}${SET}`, headers: json, body: `${'['.repeat(50_000)}${']'.repeat(50_000)}` }), status: 400, code: '0x80048d19', message: /nested more than 100 levels deep/ },
  { name: 'body over the size limit', request: () => ({ method: 'POST', path: `${API}${SET}`, headers: json, body: `{"obx_name":"${'x'.repeat(MAX_BYTES)}"}` }), status: 413, code: '0x80048d19', message: /exceeds the maximum allowed size/ },
  { name: 'truncated JSON', request: () => ({ method: 'POST', path: `${API}${SET}`, headers: json, body: '{"obx_messageid": "x", ' }), status: 400, code: '0x80048d19', message: /Invalid JSON/ },
  { name: 'JSON null as the record', request: () => ({ method: 'POST', path: `${API}${SET}`, headers: json, body: 'null' }), status: 400, code: '0x80048d19' },
  { name: 'a NUL byte as the body', request: () => ({ method: 'POST', path: `${API}${SET}`, headers: json, body: '\u0000' }), status: 400, code: '0x80048d19', message: /Invalid JSON/ },
  { name: 'non-GUID key', request: () => ({ method: 'PATCH', path: `${API}${SET}(not-a-guid)`, headers: json, body: '{}' }), status: 400, code: '0x80060888', message: /The key 'not-a-guid'/ },
  { name: 'GUID key wrapped in white space and braces', request: () => get(`${SET}(%20%7B00000000-0000-0000-0000-000000000001%7D%20)`), status: 400, code: '0x80060888' },
  { name: 'unterminated alternate-key literal', request: () => get(`${SET}(obx_messageid='a''b)`), status: 400, code: '0x80060888' },
  { name: '$top=-1', request: () => get(`${SET}?$top=-1`), status: 400, code: '0x80060888', message: /requires a non-negative integer/ },
  { name: 'unknown system query option', request: () => get(`${SET}?$unknown=1`), status: 400, code: '0x80060888', message: /\$unknown is not supported/ },
  { name: 'garbage $skiptoken', request: () => get(`${SET}?$skiptoken=${encodeURIComponent('garbage<<')}`), status: 400, code: '0x80060888', message: /skip token/ },
  { name: 'negative odata.maxpagesize', request: () => get(SET, { Prefer: 'odata.maxpagesize=-5' }), status: 400, code: '0x80060888', message: /maxpagesize/ },
  { name: 'unterminated string literal in $filter', request: () => get(`${SET}?$filter=${encodeURIComponent("obx_name eq 'a")}`), status: 400, code: '0x80060888', message: /Syntax error/ },
  { name: 'NUL, accents and emoji in a $filter literal', request: () => get(`${SET}?$filter=${encodeURIComponent("obx_name eq '\u0000é😀'")}`), status: 200, also: (res) => expect(res.json['value']).toEqual([]) },
  { name: '$batch without a boundary', request: () => batch('x', ''), status: 400, code: '0x80048d19' },
  { name: '$batch whose boundary never appears', request: () => batch('--other\r\n\r\n--other--', 'b'), status: 400, code: '0x80048d19', message: /boundary delimiter '--b' was not found/ },
  {
    name: '$batch with a bad %-escape in one part: that part 400, the others run',
    request: () => batch(`${part(`GET ${API}${SET}(%zz)`)}${part(`GET ${API}${SET}?$select=obx_name&$top=1`)}--b--\r\n`),
    status: 200,
    also: (res) => {
      expect(res.text).toMatch(/HTTP\/1.1 400[\s\S]*invalid percent-encoded sequence[\s\S]*HTTP\/1.1 200/);
    },
  },
  {
    name: '$batch with 5,000 and-terms in one $filter (legal, huge): answered, not a stack overflow',
    request: () => batch(`${part(`GET ${API}${SET}?$filter=${encodeURIComponent(Array.from({ length: 5000 }, () => "obx_name eq 'x'").join(' and '))}`)}--b--\r\n`),
    status: 200,
    also: (res) => expect(res.text).toMatch(/HTTP\/1.1 200/),
  },
  {
    name: '$batch with a FetchXML of 2,000 conditions: answered, not SQLite expression depth',
    request: () => batch(`${part(`GET ${API}${SET}?fetchXml=${encodeURIComponent(fetchXml(`<filter type="or">${'<condition attribute="obx_name" operator="eq" value="x"/>'.repeat(2000)}</filter>`))}`)}--b--\r\n`),
    status: 200,
    also: (res) => expect(res.text).toMatch(/HTTP\/1.1 200/),
  },
  { name: 'LastXDays with 99,999,999,999 days (past the calendar)', request: () => get(`${SET}?$filter=${encodeURIComponent("Microsoft.Dynamics.CRM.LastXDays(PropertyName='obx_nextattempton',PropertyValue=99999999999)")}`), status: 400, code: '0x80040203', message: /outside the supported range/ },
  { name: '$batch part whose URL no parser accepts', request: () => batch(`${part('GET http://[::1')}--b--\r\n`), status: 400, code: '0x80048d19', message: /is not a valid URL/ },
  { name: '$batch of 1,001 requests', request: () => batch(`${Array.from({ length: 1001 }, () => part('GET WhoAmI')).join('')}--b--\r\n`), status: 400, code: '0x8006088A', message: /exceeds the maximum of 1000/ },
  { name: 'If-Match that is not an ETag', request: () => ({ method: 'PATCH', path: `${API}${SET}(${keptId})`, headers: { ...json, 'If-Match': 'W/"garbage' }, body: '{"obx_attempts":1}' }), status: 412, code: '0x80060882' },
  { name: 'whole number past Int32', request: () => ({ method: 'PATCH', path: `${API}${SET}(${keptId})`, headers: json, body: '{"obx_attempts":99999999999}' }), status: 400, code: '0x80048d19' },
  { name: 'choice value outside the option set', request: () => ({ method: 'PATCH', path: `${API}${SET}(${keptId})`, headers: json, body: '{"obx_status":612000099}' }), status: 400, code: '0x8004431A' },
  { name: 'alternate key longer than its column', request: () => ({ method: 'PATCH', path: `${API}${SET}(obx_messageid='${'x'.repeat(500)}')`, headers: json, body: '{"obx_name":"x","obx_target":"t"}' }), status: 400, code: '0x80044331' },
  { name: 'FetchXML naming an unknown entity', request: () => get(`${SET}?fetchXml=${encodeURIComponent('<fetch><entity name="nope"/></fetch>')}`), status: 400 },
  { name: 'bearer token whose payload is a JSON array', request: () => ({ ...get(SET), headers: { Accept: 'application/json', Authorization: `Bearer ${Buffer.from('{"alg":"none"}').toString('base64url')}.${Buffer.from('[1,2]').toString('base64url')}.x` } }), status: 200 },
  { name: 'JSON sent to $batch (wrong content type)', request: () => ({ method: 'POST', path: `${API}$batch`, headers: json, body: '{"requests":[]}' }), status: 400, code: '0x80048d19' },
  { name: 'entity set name wrapped in white space', request: () => get(`%20${SET}%20`), status: 404, code: '0x80060888', message: /Resource not found/ },
  { name: 'unicode look-alike entity set name (Cyrillic o)', request: () => get(encodeURIComponent('\u043ebx_outboxmessages')), status: 404, code: '0x80060888' },
  { name: 'admin body null', request: () => ({ method: 'POST', path: '/_admin/faults', headers: { [ADMIN_WRITE_HEADER]: '1', 'Content-Type': 'application/json' }, body: 'null' }), status: 400, message: /must be a JSON object/ },
  { name: 'admin body not JSON', request: () => ({ method: 'PUT', path: '/_admin/clock', headers: { [ADMIN_WRITE_HEADER]: '1', 'Content-Type': 'application/json' }, body: '{offsetMs:' }), status: 400, message: /not valid JSON/ },
];

async function snapshot(): Promise<string> {
  return JSON.stringify(await api.rows(SET, '$select=obx_messageid,obx_name,obx_status&$orderby=obx_messageid'));
}

describe.each([
  ['local surface', surface],
  ['parsers and limits', parsers],
])('Dataverse emulator, %s', (_group, cases) => {
  test.each(cases.map((c) => [c.name, c] as const))('hostile: %s', async (_name, c) => {
    const before = await snapshot();
    const goodId = `good-${++goodCount}`;
    // The good request goes out at the same moment as the hostile one.
    const [res, good] = await Promise.all([raw(emulator.port, c.request()), api.post(SET, outboxRow(goodId))]);
    expect(res.status).toBe(c.status);
    if (c.code) expect(errorOf(res).code).toBe(c.code);
    if (c.message) expect(errorOf(res).message ?? (typeof res.json.error === 'string' ? res.json.error : res.text)).toMatch(c.message);
    c.also?.(res);
    expect(good.status).toBe(204);
    // Nothing else changed: the rows before plus exactly the good one; the kept row reads back.
    const after = JSON.parse(await snapshot()) as { obx_messageid: string }[];
    expect(JSON.stringify(after.filter((r) => r.obx_messageid !== goodId))).toBe(before);
    expect(after.some((r) => r.obx_messageid === goodId)).toBe(true);
    expect((await api.get(`${SET}(${keptId})?$select=obx_messageid`)).json['obx_messageid']).toBe('kept');
  });
});

test('hostile: a refused cross-site fault injection leaves no fault behind', async () => {
  await raw(emulator.port, { method: 'POST', path: '/_admin/faults', headers: { 'Content-Type': 'text/plain', Origin: 'https://evil.example' }, body: '{"kind":"503","count":1000}' });
  const listed = await raw(emulator.port, { path: '/_admin/faults' });
  expect(listed.status).toBe(200);
  expect(listed.json['value']).toEqual([]);
});

test('the product keeps working: same-origin Origin, localhost and [::1]-style Host, admin writes with the header', async () => {
  const sameOrigin = await raw(emulator.port, { ...get(`${SET}?$top=1`), headers: { ...auth, Origin: `http://${own()}` } });
  expect(sameOrigin.status).toBe(200);
  const localhost = await raw(emulator.port, { ...get(`${SET}?$top=1`), headers: { ...auth, Host: `localhost:${emulator.port}` } });
  expect(localhost.status).toBe(200);
  expect(String(localhost.json['@odata.context'])).toContain(`http://localhost:${emulator.port}/`);
  const admin = await raw(emulator.port, { method: 'DELETE', path: '/_admin/counters', headers: { [ADMIN_WRITE_HEADER]: '1' } });
  expect(admin.status).toBe(204);
});
