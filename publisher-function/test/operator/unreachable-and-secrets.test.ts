// Dataverse unreachable (connection refused, DNS failure, TLS error, timeout): the cause in one clear line at once, the
// CLI fails fast, the worker retries with visible progress. And a DATAVERSE_URL holding a password never reaches
// stderr, the invocation log or the health endpoint's 503 body.
import http from 'node:http';
import net from 'node:net';
import { InvocationContext, HttpRequest, type HttpResponseInit } from '@azure/functions';
import { DataverseClient, isDataverseError, type DataverseRetryInfo } from '../../src';
import { health, publishTimer } from '../../src/functions/handlers';
import { closeFunctionsHost } from '../../src/testing';
import { closedPort, killSpawned, runSource, waitFor } from './support';

afterAll(() => killSpawned());

async function failureOf(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (e) {
    return e as Error;
  }
  throw new Error('expected a failure');
}

describe('item: Dataverse unreachable says what is wrong at once, with the cause', () => {
  const servers: net.Server[] = [];
  const sockets: net.Socket[] = [];
  afterAll(async () => {
    for (const c of sockets) c.destroy();
    for (const s of servers) await new Promise((r) => s.close(r));
  });
  async function listen(server: net.Server): Promise<number> {
    servers.push(server);
    server.on('connection', (c: net.Socket) => sockets.push(c));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return (server.address() as net.AddressInfo).port;
  }

  it('connection refused: ECONNREFUSED and host:port in the message, no retry when retryUnreachable is off', async () => {
    const port = await closedPort();
    const retries: DataverseRetryInfo[] = [];
    const client = new DataverseClient(`http://127.0.0.1:${port}`, { token: 't' }, { retryOptions: { retryUnreachable: false }, onRetry: (r) => retries.push(r) });
    const e = await failureOf(client.retrieveMultiple('accounts', { top: 1 }));
    expect(isDataverseError(e) && e.code).toBe('NetworkError');
    expect(isDataverseError(e) && e.networkCode).toBe('ECONNREFUSED');
    expect(e.message).toBe(`query accounts failed: cannot reach 127.0.0.1:${port}: connection refused (nothing listens there: wrong URL or port, or the service is down) [ECONNREFUSED]`);
    expect(retries).toHaveLength(0);
  });

  it('a host retrying (the worker) reports every retry with the cause before waiting', async () => {
    const port = await closedPort();
    const retries: DataverseRetryInfo[] = [];
    const client = new DataverseClient(`http://127.0.0.1:${port}`, { token: 't' }, { retryOptions: { retryDelayInMs: 10, maxRetries: 2 }, onRetry: (r) => retries.push(r) });
    await failureOf(client.retrieveMultiple('accounts', { top: 1 }));
    expect(retries.map((r) => [r.retry, r.maxRetries, r.error.networkCode])).toEqual([
      [1, 2, 'ECONNREFUSED'],
      [2, 2, 'ECONNREFUSED'],
    ]);
  });

  it('DNS failure: the host name and ENOTFOUND (or EAI_AGAIN without a resolver)', async () => {
    const client = new DataverseClient('https://no-such-environment.invalid', { token: 't' }, { retryOptions: { retryUnreachable: false, timeoutInMs: 15_000 } });
    const e = await failureOf(client.retrieveMultiple('accounts', { top: 1 }));
    expect(e.message).toMatch(/^query accounts failed: cannot reach no-such-environment\.invalid:443: (host name not found \(DNS\): check the URL \[ENOTFOUND\]|DNS lookup failed for now .*\[EAI_AGAIN\])$/);
  });

  it('TLS error (https to a plain HTTP port): said as TLS, never retried even by a retrying host', async () => {
    const port = await listen(http.createServer((_req, res) => res.end('plain')));
    const retries: DataverseRetryInfo[] = [];
    const client = new DataverseClient(`https://127.0.0.1:${port}`, { token: 't' }, { retryOptions: { retryDelayInMs: 10, maxRetries: 3 }, onRetry: (r) => retries.push(r) });
    const e = await failureOf(client.retrieveMultiple('accounts', { top: 1 }));
    expect(e.message).toBe(`query accounts failed: cannot reach 127.0.0.1:${port}: TLS handshake failed: nothing speaks TLS on that port (an http:// URL, e.g. for a local emulator?) [ERR_SSL_WRONG_VERSION_NUMBER]`);
    expect(retries).toHaveLength(0);
  });

  it('timeout (a server that accepts and never answers): the wait and host:port', async () => {
    const port = await listen(net.createServer(() => undefined));
    const client = new DataverseClient(`http://127.0.0.1:${port}`, { token: 't' }, { retryOptions: { retryUnreachable: false, timeoutInMs: 300 } });
    const e = await failureOf(client.retrieveMultiple('accounts', { top: 1 }));
    expect(isDataverseError(e) && e.code).toBe('Timeout');
    expect(e.message).toBe(`query accounts timed out after 300 ms waiting for 127.0.0.1:${port}`);
  });

  it('the CLI fails fast with the cause in one line (it was silent for ~70 s, then "fetch failed")', async () => {
    const port = await closedPort();
    const cli = runSource('cli.ts', ['status'], { DATAVERSE_URL: `http://127.0.0.1:${port}`, DATAVERSE_TOKEN: 't' });
    expect(await cli.exit).toBe(1);
    const { stderr } = cli.output();
    process.stdout.write(`CLI against a closed port ended after ${cli.elapsed()} ms\n`);
    expect(stderr.trim().split('\n')).toEqual([`outbox: query environmentvariabledefinitions failed: cannot reach 127.0.0.1:${port}: connection refused (nothing listens there: wrong URL or port, or the service is down) [ECONNREFUSED]`]);
    expect(cli.elapsed()).toBeLessThan(30_000);
  });

  it('the worker says what is wrong at once and shows each retry', async () => {
    const port = await closedPort();
    const worker = runSource('worker.ts', [], { DATAVERSE_URL: `http://127.0.0.1:${port}`, DATAVERSE_TOKEN: 't', SERVICEBUS_CONNECTION_STRING: 'Endpoint=sb://127.0.0.1:1;SharedAccessKeyName=a;SharedAccessKey=b;UseDevelopmentEmulator=true' });
    const ms = await waitFor(() => worker.output().stderr.includes('retry 2 of 6'), 'two visible retries', 20_000);
    worker.child.kill('SIGKILL');
    const first = worker.output().stderr.split('\n').find((l) => l.includes('retry 1 of 6'))!;
    process.stdout.write(`worker: second retry logged after ${ms} ms\n`);
    expect(JSON.parse(first)).toMatchObject({ level: 'warn', code: 'ECONNREFUSED', error: expect.stringContaining(`cannot reach 127.0.0.1:${port}: connection refused`) });
  });
});

describe('item: a DATAVERSE_URL with a password is never echoed', () => {
  const SECRET = 'Sup3rSecretPw';
  const badUrls = [`https://admin:${SECRET}@contoso crm.dynamics.com`, `https://admin:${SECRET}@contoso.crm.dynamics.com`, `https://contoso.crm.dynamics.com/?sig=${SECRET}`, `contoso.crm.dynamics.com?password=${SECRET}`];
  const saved = { ...process.env };
  afterEach(async () => {
    await closeFunctionsHost();
    for (const k of ['DATAVERSE_URL', 'DATAVERSE_TOKEN', 'SERVICEBUS_CONNECTION_STRING']) {
      if (saved[k] === undefined) delete process.env[k];
      else process.env[k] = saved[k];
    }
  });

  function context(logs: string[]): InvocationContext {
    return new InvocationContext({ functionName: 'outboxHealth', invocationId: 'secret-test', logHandler: (_level, ...args) => logs.push(args.map(String).join(' ')) });
  }

  it.each(badUrls)('stderr of the worker: %#', async (url) => {
    const worker = runSource('worker.ts', [], { DATAVERSE_URL: url, SERVICEBUS_NAMESPACE: 'contoso.servicebus.windows.net' });
    expect(await worker.exit).toBe(78);
    const { stdout, stderr } = worker.output();
    expect(stderr).toMatch(/DATAVERSE_URL is not a valid Dataverse URL: it (contains white space|contains a user name or password|has a query string|does not start with https)/);
    expect(stderr + stdout).not.toContain(SECRET);
  });

  it.each(badUrls)('the health endpoint 503 body and the invocation log: %#', async (url) => {
    process.env.DATAVERSE_URL = url;
    process.env.SERVICEBUS_CONNECTION_STRING = 'Endpoint=sb://localhost;SharedAccessKeyName=a;SharedAccessKey=b';
    const logs: string[] = [];
    const res = (await health.handler(new HttpRequest({ method: 'GET', url: 'http://localhost/api/outbox/health' }), context(logs))) as HttpResponseInit;
    expect(res.status).toBe(503);
    const body = JSON.stringify(res.jsonBody);
    expect(body).toContain('DATAVERSE_URL is not a valid Dataverse URL');
    expect(body).not.toContain(SECRET);
    expect(logs.join('\n')).toContain('DATAVERSE_URL is not a valid Dataverse URL');
    expect(logs.join('\n')).not.toContain(SECRET);
    // The publish timer fails the invocation; neither its log nor its error carries the secret.
    const timerLogs: string[] = [];
    const thrown = await failureOf(publishTimer.handler({ isPastDue: false, schedule: { adjustForDST: false }, scheduleStatus: { last: '', next: '', lastUpdated: '' } }, context(timerLogs)) as Promise<void>);
    expect(`${thrown.message}\n${timerLogs.join('\n')}`).not.toContain(SECRET);
    expect(timerLogs.join('\n')).toContain('Outbox publisher not started.');
  });
});
