// Hostile input to the operator surfaces and the host settings (issue 17): row ids handed to the operator API, CLI option
// values, app settings (URLs, scopes, lease numbers, tokens) and JSON overrides of the outbox settings. Each case gets
// its specific error, and nothing else is lost: the good ids of the same command still run, no request is made for a
// refused option, every other problem of the same settings is still reported, and no secret is repeated.
import { CommanderError } from 'commander';
import { startDataverseEmulator, type DataverseEmulator } from '@dataverse-outbox/emulators/dataverse';
import { OutboxStatus } from '@dataverse-outbox/contract';
import { DataverseClient, DataverseOutboxStore, isOutboxError, readAppSettings, runOperatorAction } from '../../src';
import { OutboxWriter } from '@dataverse-outbox/producer';
import { parseSettings, redactSecrets } from '../../src/core';
import { program } from '../../src/cli';

let dv: DataverseEmulator;
let store: DataverseOutboxStore;
let writer: OutboxWriter;
let producer: DataverseClient;

beforeAll(async () => {
  dv = await startDataverseEmulator({ port: 0 });
  producer = new DataverseClient(dv.url, { token: 'hostile-producer' }, { retryOptions: { retryDelayInMs: 20 } });
  store = new DataverseOutboxStore(producer);
  writer = new OutboxWriter(producer);
});
afterAll(async () => {
  await producer.close();
  await dv.close();
});

const SECRET = 'Hunter2Secret';
const GUID = '3f2504e0-4f89-41d3-9a0c-0305e82c3301';

let seq = 0;
async function pendingRows(n: number): Promise<string[]> {
  const tag = `hostile-op-${++seq}`;
  await writer.transaction((tx) => {
    for (let i = 0; i < n; i++) tx.enqueue({ target: 'orders', payload: { i }, messageId: `${tag}-${i}` });
  });
  const rows = await store.query({ statuses: [OutboxStatus.Pending] });
  return Array.from({ length: n }, (_, i) => rows.find((r) => r.messageId === `${tag}-${i}`)!.id);
}

describe('operator ids: a bad id is reported by name, the good ids of the same action still run', () => {
  const cases: [string, string][] = [
    ['an OData expression after a GUID', `${GUID} or obx_status eq 612000000`],
    ['a quote that would end a literal', "' or 1 eq 1 or obx_name eq '"],
    ['an empty string', ''],
    ['only white space', '   '],
    ['a GUID with a URL fragment', `${GUID}#x`],
    ['a GUID with a query string', `${GUID}?$top=1`],
    ['a path traversal', '../accounts'],
    ['a percent-encoded GUID', '%33f2504e0-4f89-41d3-9a0c-0305e82c3301'],
    ['a NUL inside a GUID', '3f2504e0-4f89-41d3-9a0c\u0000-0305e82c3301'],
    ['10,000 characters', 'a'.repeat(10_000)],
    ['full-width digits', '３f2504e0-4f89-41d3-9a0c-0305e82c3301'],
    ['a GUID with an extra group', `${GUID}-0000`],
    ['a GUID that closes the key segment', `${GUID})`],
    ['a right-to-left override', `\u202e${GUID}`],
  ];
  it.each(cases)('hostile: %s', async (_name, bad) => {
    const [good1, good2, bystander] = await pendingRows(3);
    const r = await runOperatorAction(store, 'cancel', { ids: [good1!, bad, good2!] });
    expect(r.failed).toEqual([{ id: bad, kind: 'invalid-id', why: expect.stringMatching(/^row id must be a GUID, got "/) }]);
    expect(r.changed.sort()).toEqual([good1!, good2!].sort());
    const after = await store.readByIds([good1!, good2!, bystander!]);
    expect(after.map((x) => [x.id, x.status]).sort()).toEqual(
      [
        [good1!, OutboxStatus.Cancelled],
        [good2!, OutboxStatus.Cancelled],
        [bystander!, OutboxStatus.Pending],
      ].sort(),
    );
  });
});

describe('CLI option values: refused before any request, with what was expected', () => {
  const long = 'x'.repeat(261);
  const cases: [string, string[], string | RegExp][] = [
    ['tail --interval abc', ['tail', '--interval', 'abc'], '--interval must be a number of seconds from 0.5 to 3600, got "abc"'],
    ['tail --interval 0', ['tail', '--interval', '0'], '--interval must be a number of seconds from 0.5 to 3600, got "0"'],
    ['tail --interval -1', ['tail', '--interval', '-1'], '--interval must be a number of seconds from 0.5 to 3600, got "-1"'],
    ['tail --interval 1e9', ['tail', '--interval', '1e9'], '--interval must be a number of seconds from 0.5 to 3600, got "1e9"'],
    ['tail --interval NaN', ['tail', '--interval', 'NaN'], 'got "NaN"'],
    ['tail --interval 99999', ['tail', '--interval', '99999'], 'got "99999"'],
    ['cancel --top 0', ['cancel', '--top', '0'], '--top must be a whole number from 1 to 100,000, got "0"'],
    ['cancel --top 2.5', ['cancel', '--top', '2.5'], '--top must be a whole number from 1 to 100,000, got "2.5"'],
    ['cancel --top 0x10', ['cancel', '--top', '0x10'], 'got "0x10"'],
    ['cancel --top 100001', ['cancel', '--top', '100001'], 'got "100001"'],
    ['cancel --since yesterday', ['cancel', '--since', 'yesterday'], '--since must be an ISO-8601 date such as 2026-12-01 or 2026-12-01T08:00:00Z, got "yesterday"'],
    ['cancel --since 2026-02-30T25:00', ['cancel', '--since', '2026-02-30T25:00'], 'got "2026-02-30T25:00"'],
    ['cancel --since 1 (a year to Date.parse)', ['cancel', '--since', '1'], '--since must be an ISO-8601 date'],
    ['cancel --since 1999-12-31', ['cancel', '--since', '1999-12-31'], '--since must be between 2000-01-01 and tomorrow, got "1999-12-31"'],
    ['cancel --status Pendingx', ['cancel', '--status', 'Pendingx'], 'unknown status "Pendingx" (use one of Pending, Published, Acked, Failed, DeadLettered, Cancelled)'],
    ['cancel --status 612000000', ['cancel', '--status', '612000000'], 'unknown status "612000000"'],
    ['cancel --target ""', ['cancel', '--target', ''], 'a queue or topic name must not be empty.'],
    ['cancel --target with a line break', ['cancel', '--target', 'orders\nobx_status eq 1'], 'a queue or topic name must not contain control characters'],
    ['cancel --target of 261 characters', ['cancel', '--target', long], 'a queue or topic name must be at most 260 characters, got 261.'],
    ['cancel --event-type with NUL', ['cancel', '--event-type', 'Order\u0000Won'], 'an event type must not contain control characters'],
    ['cancel --error-contains of 4,001 characters', ['cancel', '--error-contains', 'e'.repeat(4001)], 'the text to look for must be at most 4000 characters, got 4001.'],
    ['status --scope a#b', ['status', '--scope', 'a#b'], 'a lease scope must be 1-200 characters: letters, digits, ".", "_", "-" and ":", starting with a letter or digit; got "a#b"'],
    ['status --scope ../x', ['status', '--scope', '../x'], 'got "../x"'],
    ['release-lease --scope ""', ['release-lease', '--scope', ''], 'a lease scope must be'],
    ['release-lease --owner with NUL', ['release-lease', '--owner', 'a\u0000b'], 'an owner name must not contain control characters'],
    ['--url with a password and a space', ['--url', `https://admin:${SECRET}@contoso crm.dynamics.com`, 'status'], 'the Dataverse URL is not valid: it contains white space or control characters.'],
    ['--url with a password', ['--url', `https://admin:${SECRET}@contoso.crm.dynamics.com`, 'status'], 'the Dataverse URL is not valid: it contains a user name or password'],
    ['--url ftp://', ['--url', 'ftp://contoso.crm.dynamics.com', 'status'], 'the Dataverse URL is not valid: its scheme is ftp, not https (or http for an emulator).'],
    ['--token with a space', ['--token', `abc ${SECRET}`, 'status'], 'the token must be printable ASCII without spaces'],
    ['--token with a header injection', ['--token', `abc\r\nX-Injected: ${SECRET}`, 'status'], 'the token must be printable ASCII without spaces'],
  ];
  it.each(cases)('hostile: %s', async (_name, args, expected) => {
    const [bystander] = await pendingRows(1);
    dv.resetRequestCounters();
    const errors: string[] = [];
    const cmd = program({ exitOverride: true, output: { writeErr: (s) => errors.push(s), writeOut: () => undefined } });
    let caught: unknown;
    try {
      await cmd.parseAsync(['node', 'outbox', '--url', dv.url, '--token', 'hostile-cli', ...args]);
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(CommanderError);
    // Options that may hold a secret have their own code: commander would quote the value.
    expect((caught as CommanderError).code).toBe(args.some((a) => a === '--url' || a === '--token') ? 'outbox.invalidSecretArgument' : 'commander.invalidArgument');
    expect((caught as CommanderError).exitCode).toBe(1);
    expect((caught as Error).message).toContain(typeof expected === 'string' ? expected : '');
    expect(`${(caught as Error).message}${errors.join('')}`).not.toContain(SECRET);
    // Refused before any request: nothing read, nothing written.
    expect(dv.getRequestCounters().users['hostile-cli']?.requests ?? 0).toBe(0);
    expect((await store.readByIds([bystander!]))[0]?.status).toBe(OutboxStatus.Pending);
  });
});

describe('app settings: each problem named with its setting and why, every other problem still listed, no secret echoed', () => {
  const base = { DATAVERSE_URL: 'https://contoso.crm.dynamics.com' };
  // The companion problem: no Service Bus setting at all. It must be listed next to the case's own.
  const companion = 'set SERVICEBUS_CONNECTION_STRING or SERVICEBUS_NAMESPACE';
  const cases: [string, Record<string, string>, string][] = [
    ['DATAVERSE_URL unparsable with a password', { DATAVERSE_URL: `https://admin:${SECRET}@contoso crm.dynamics.com` }, 'DATAVERSE_URL is not a valid Dataverse URL: it contains white space or control characters'],
    ['DATAVERSE_URL with user and password', { DATAVERSE_URL: `https://admin:${SECRET}@contoso.crm.dynamics.com` }, 'DATAVERSE_URL is not a valid Dataverse URL: it contains a user name or password'],
    ['DATAVERSE_URL with a SAS query', { DATAVERSE_URL: `https://contoso.crm.dynamics.com/?sig=${SECRET}` }, 'DATAVERSE_URL is not a valid Dataverse URL: it has a query string (the value is not shown)'],
    ['DATAVERSE_URL without a scheme', { DATAVERSE_URL: `contoso.crm.dynamics.com?password=${SECRET}` }, 'DATAVERSE_URL is not a valid Dataverse URL: it does not start with https://'],
    ['DATAVERSE_URL javascript:', { DATAVERSE_URL: 'javascript:alert(1)' }, 'DATAVERSE_URL is not a valid Dataverse URL: it does not start with https://'],
    ['DATAVERSE_URL file://', { DATAVERSE_URL: 'file:///etc/passwd' }, 'DATAVERSE_URL is not a valid Dataverse URL: its scheme is file'],
    ['DATAVERSE_URL with a line break inside', { DATAVERSE_URL: 'https://contoso.crm\n.dynamics.com' }, 'DATAVERSE_URL is not a valid Dataverse URL: it contains white space or control characters'],
    ['DATAVERSE_URL with a fragment', { DATAVERSE_URL: 'https://contoso.crm.dynamics.com/#x' }, 'DATAVERSE_URL is not a valid Dataverse URL: it has a fragment'],
    ['DATAVERSE_TOKEN with a line break', { DATAVERSE_TOKEN: `abc\nX-Injected: ${SECRET}` }, 'DATAVERSE_TOKEN must be a bearer token: printable ASCII without spaces'],
    ['DATAVERSE_TOKEN with a space', { DATAVERSE_TOKEN: `Bearer ${SECRET}` }, 'DATAVERSE_TOKEN must be a bearer token'],
    ['OUTBOX_SCOPE with #', { OUTBOX_SCOPE: 'a#b' }, 'OUTBOX_SCOPE must be 1-200 characters'],
    ['OUTBOX_SCOPE with ?', { OUTBOX_SCOPE: 'a?b=1' }, 'OUTBOX_SCOPE must be 1-200 characters'],
    ['OUTBOX_SCOPE with %', { OUTBOX_SCOPE: 'a%2Fb' }, 'OUTBOX_SCOPE must be 1-200 characters'],
    ['OUTBOX_SCOPE with a quote', { OUTBOX_SCOPE: "a'b" }, 'OUTBOX_SCOPE must be 1-200 characters'],
    ['OUTBOX_SCOPE with a slash', { OUTBOX_SCOPE: 'a/../b' }, 'OUTBOX_SCOPE must be 1-200 characters'],
    ['OUTBOX_SCOPE non-ASCII', { OUTBOX_SCOPE: 'üsküdar' }, 'OUTBOX_SCOPE must be 1-200 characters'],
    ['OUTBOX_SCOPE of 201 characters', { OUTBOX_SCOPE: 's'.repeat(201) }, '(201 characters)'],
    ['OUTBOX_LEASE_DURATION_SECONDS abc', { OUTBOX_LEASE_DURATION_SECONDS: 'abc' }, 'OUTBOX_LEASE_DURATION_SECONDS must be a whole number of seconds from 5 to 3600, got "abc"'],
    ['OUTBOX_LEASE_DURATION_SECONDS 4 (too short)', { OUTBOX_LEASE_DURATION_SECONDS: '4' }, 'OUTBOX_LEASE_DURATION_SECONDS must be a whole number of seconds from 5 to 3600, got "4"'],
    ['OUTBOX_LEASE_DURATION_SECONDS 3601', { OUTBOX_LEASE_DURATION_SECONDS: '3601' }, 'got "3601"'],
    ['OUTBOX_LEASE_DURATION_SECONDS 1e2', { OUTBOX_LEASE_DURATION_SECONDS: '1e2' }, 'got "1e2"'],
    ['OUTBOX_LEASE_DURATION_SECONDS -5', { OUTBOX_LEASE_DURATION_SECONDS: '-5' }, 'got "-5"'],
    ['OUTBOX_LEASE_DURATION_SECONDS 60.5', { OUTBOX_LEASE_DURATION_SECONDS: '60.5' }, 'got "60.5"'],
    ['OUTBOX_LEASE_DURATION_SECONDS 99999999999', { OUTBOX_LEASE_DURATION_SECONDS: '99999999999' }, 'got "99999999999"'],
    ['OUTBOX_STANDBY_POLL_SECONDS 0', { OUTBOX_STANDBY_POLL_SECONDS: '0' }, 'OUTBOX_STANDBY_POLL_SECONDS must be a whole number of seconds from 1 to 300, got "0"'],
    ['OUTBOX_STANDBY_POLL_SECONDS longer than the lease', { OUTBOX_STANDBY_POLL_SECONDS: '30', OUTBOX_LEASE_DURATION_SECONDS: '10' }, 'OUTBOX_STANDBY_POLL_SECONDS (30) must not exceed OUTBOX_LEASE_DURATION_SECONDS (10)'],
  ];
  it.each(cases)('hostile: %s', (_name, env, expected) => {
    let caught: unknown;
    try {
      readAppSettings({ ...base, ...env });
    } catch (e) {
      caught = e;
    }
    expect(isOutboxError(caught) && caught.code).toBe('InvalidSettings');
    const details = isOutboxError(caught) ? caught.details : [];
    expect(details.some((d) => d.includes(expected))).toBe(true);
    expect(details.some((d) => d.includes(companion))).toBe(true);
    expect((caught as Error).message).not.toContain(SECRET);
  });
});

describe('JSON overrides of the outbox settings (OUTBOX_ALLOWED_TARGETS): refused with a short, specific reason', () => {
  let deep = '"orders"';
  for (let i = 0; i < 10_000; i++) deep = `[${deep}]`;
  const many = JSON.stringify(Array.from({ length: 100_000 }, (_, i) => `queue-${i}`));
  const shape = 'app setting OUTBOX_ALLOWED_TARGETS must be a JSON array of queue or topic names (1-260 characters)';
  // Entries are checked one by one (the allow-list's own rules): the first bad entry is named by its position.
  const entry = (why: string): RegExp => new RegExp(`^app setting OUTBOX_ALLOWED_TARGETS entry 1: ${why}`);
  const cases: [string, string, string | RegExp][] = [
    ['malformed JSON', '["orders",', 'app setting OUTBOX_ALLOWED_TARGETS is not valid JSON'],
    ['a huge list (100,000 names, 1.3 MB)', many, 'app setting OUTBOX_ALLOWED_TARGETS lists 100000 targets; at most 1000 are allowed'],
    ['nested 10,000 deep', deep, entry('a queue or topic name must be text, got object')],
    ['an object instead of an array', '{"orders":true}', shape],
    ['a bare string', '"orders"', shape],
    ['numbers', '[1,2,3]', entry('a queue or topic name must be text, got number')],
    ['a name of 261 characters', JSON.stringify(['q'.repeat(261)]), entry('the queue or topic name is 261 characters long; at most 260')],
    ['empty and blank names', '["", "  "]', entry('the queue or topic name is empty')],
    ['null', 'null', shape],
    ['a 2 MB invalid value (the error quotes at most 200 characters)', `[${'x'.repeat(2_000_000)}`, 'app setting OUTBOX_ALLOWED_TARGETS is not valid JSON'],
  ];
  it.each(cases)('hostile: OUTBOX_ALLOWED_TARGETS %s', (_name, value, expected) => {
    let caught: unknown;
    try {
      parseSettings({}, { OUTBOX_ALLOWED_TARGETS: value, OUTBOX_BATCH_SIZE: '0' });
    } catch (e) {
      caught = e;
    }
    expect(isOutboxError(caught) && caught.code).toBe('InvalidSettings');
    const details = isOutboxError(caught) ? caught.details : [];
    expect(details.some((d) => (typeof expected === 'string' ? d.includes(expected) : expected.test(d)))).toBe(true);
    // The other bad setting is still reported, and the message stays readable whatever the value's size.
    expect(details.some((d) => d.includes('app setting OUTBOX_BATCH_SIZE must be a whole number from 1 to 1000, got "0"'))).toBe(true);
    expect((caught as Error).message.length).toBeLessThan(2000);
  });
});

describe('health thresholds (OUTBOX_HEALTH_THRESHOLDS, obx_HealthThresholds): an unknown field is refused by its name', () => {
  // Names every object inherits: an `in` check would take them as known fields and store them on the thresholds.
  const known = 'known: maxPendingAgeSeconds, maxFailed, maxDeadLettered';
  const cases: [string, string, string][] = [
    ['constructor', '{"maxFailed":1,"constructor":5}', 'constructor'],
    ['__proto__ (a number)', '{"__proto__":5}', '__proto__'],
    ['__proto__ (an object)', '{"__proto__":{"maxFailed":-1}}', '__proto__'],
    ['toString', '{"toString":0}', 'toString'],
    ['hasOwnProperty', '{"hasOwnProperty":1}', 'hasOwnProperty'],
    ['valueOf', '{"valueOf":2}', 'valueOf'],
  ];
  it.each(cases)('hostile: OUTBOX_HEALTH_THRESHOLDS with %s', (_name, value, field) => {
    let caught: unknown;
    try {
      parseSettings({}, { OUTBOX_HEALTH_THRESHOLDS: value, OUTBOX_BATCH_SIZE: '0' });
    } catch (e) {
      caught = e;
    }
    expect(isOutboxError(caught) && caught.code).toBe('InvalidSettings');
    const details = isOutboxError(caught) ? caught.details : [];
    expect(details).toContain(`app setting OUTBOX_HEALTH_THRESHOLDS has an unknown field "${field}" (${known})`);
    expect(details.some((d) => d.includes('app setting OUTBOX_BATCH_SIZE must be a whole number'))).toBe(true);
  });

  it('hostile: obx_HealthThresholds (from Dataverse) with constructor is refused, naming the environment variable', () => {
    expect(() => parseSettings({ HealthThresholds: '{"constructor":1}' })).toThrow(
      `obx_HealthThresholds (dataverse) has an unknown field "constructor" (${known})`,
    );
  });

  it('hostile: known fields still apply, and the thresholds carry no inherited or extra field', () => {
    const s = parseSettings({}, { OUTBOX_HEALTH_THRESHOLDS: '{"maxFailed":3}' });
    expect(Object.keys(s.healthThresholds).sort()).toEqual(['maxDeadLettered', 'maxFailed', 'maxPendingAgeSeconds']);
    expect(s.healthThresholds.maxFailed).toBe(3);
  });
});

describe('redactSecrets, the last line of defence on every error surface: the secret goes, the rest of the line stays', () => {
  const cases: [string, string, string][] = [
    ['a URL with user and password', `cannot reach https://admin:${SECRET}@contoso.crm.dynamics.com/api: refused`, 'cannot reach https://***@contoso.crm.dynamics.com/api: refused'],
    ['a password holding "@" and "/"', `url=https://u:p/${SECRET}@x@host.example/path done`, 'url=https://***@host.example/path done'],
    ['a SAS query string', `GET https://acct.blob.core.windows.net/c/b?sv=2024&sig=${SECRET} failed`, 'GET https://acct.blob.core.windows.net/c/b?*** failed'],
    ['a Service Bus connection string', `Endpoint=sb://ns.servicebus.windows.net/;SharedAccessKeyName=root;SharedAccessKey=${SECRET}=;EntityPath=q`, 'Endpoint=sb://ns.servicebus.windows.net/;SharedAccessKeyName=root;SharedAccessKey=***;EntityPath=q'],
    ['a bearer token', `Authorization: Bearer eyJ${SECRET}.abc.def-_ rejected`, 'Authorization: Bearer *** rejected'],
    ['a storage account key', `DefaultEndpointsProtocol=https;AccountName=a;AccountKey=${SECRET}==;EndpointSuffix=core.windows.net`, 'DefaultEndpointsProtocol=https;AccountName=a;AccountKey=***;EndpointSuffix=core.windows.net'],
  ];
  it.each(cases)('hostile: redaction of %s', (_name, text, expected) => {
    const out = redactSecrets(text);
    expect(out).toBe(expected);
    expect(out).not.toContain(SECRET);
  });
});
