// Operator actions and the CLI against both emulators: ids validated one by one (a bad id never stops the good ones,
// and never reaches a URL or $filter), option values checked before any request, lease scopes validated at start and
// encoded in the alternate-key segment, and the standby taking over within a few seconds of a graceful release.
import { OutboxLease, OutboxStatus } from '@dataverse-outbox/contract';
import { DataverseLeaseStore, createPublisherFromAppSettings, isOutboxError, odataLiteral, readAppSettings, runOperatorAction, type PublisherHost } from '../../src';
import { drainQueue, eventually, rowByMessageId, useHarness, type Harness } from '../support/harness';
import { killSpawned, runSource, waitFor } from './support';

let h: Harness;
useHarness((started) => (h = started));
afterAll(() => killSpawned());

function cliEnv(token: string): Record<string, string> {
  return { DATAVERSE_URL: h.dv.url, DATAVERSE_TOKEN: token };
}

let seq = 0;
/** Commits `n` Pending rows (nothing publishes in these tests unless started) and returns their ids. */
async function pendingRows(n: number, target = 'orders'): Promise<string[]> {
  const tag = `op-${++seq}`;
  await h.writer.transaction((tx) => {
    for (let i = 0; i < n; i++) tx.enqueue({ target, eventType: 'OperatorTest', payload: { i }, messageId: `${tag}-${i}` });
  });
  return Promise.all(Array.from({ length: n }, async (_, i) => (await rowByMessageId(h, `${tag}-${i}`)).id));
}

async function statusOf(id: string): Promise<number | undefined> {
  return (await h.store.readByIds([id]))[0]?.status;
}

describe('item 7: ids from the CLI and the operator API', () => {
  it('`outbox cancel "<guid> or obx_status eq 612000000" <good>` cancels only the good row, names the bad id and exits 1', async () => {
    const [good, other, third] = await pendingRows(3);
    const injected = `${other} or obx_status eq ${OutboxStatus.Pending}`;
    const cli = runSource('cli.ts', ['cancel', injected, good!], cliEnv('operator-cli'));
    expect(await cli.exit).toBe(1);
    const { stdout, stderr } = cli.output();
    expect(stderr).toContain(`outbox: cancel: row id must be a GUID, got "${other} or obx_status eq 612000…" (63 characters)`);
    expect(stdout).toContain('cancel: 1 row(s) changed, 0 skipped, 1 failed.');
    expect(await statusOf(good!)).toBe(OutboxStatus.Cancelled);
    // Before the fix the pasted filter matched every Pending row and cancelled them all.
    expect(await statusOf(other!)).toBe(OutboxStatus.Pending);
    expect(await statusOf(third!)).toBe(OutboxStatus.Pending);
  });

  it('the operator API acts on every valid id (braces and upper case normalised, duplicates once) and reports each bad one', async () => {
    const [a, b, untouched] = await pendingRows(3);
    const missing = '00000000-0000-0000-0000-0000000000aa';
    const r = await runOperatorAction(h.store, 'cancel', { ids: [`{${a!.toUpperCase()}}`, "' or 1 eq 1", b!, b!, 'not-a-guid', missing] });
    expect(r.changed.sort()).toEqual([a!, b!].sort());
    expect(r.failed).toEqual([
      { id: "' or 1 eq 1", kind: 'invalid-id', why: `row id must be a GUID, got "' or 1 eq 1"` },
      { id: 'not-a-guid', kind: 'invalid-id', why: 'row id must be a GUID, got "not-a-guid"' },
      { id: missing, kind: 'not-found', why: 'no such row' },
    ]);
    expect(await statusOf(untouched!)).toBe(OutboxStatus.Pending);
  });

  it('only bad ids: nothing is read or written, and the CLI exits 1 naming each', async () => {
    const [untouched] = await pendingRows(1);
    h.dv.resetRequestCounters();
    const cli = runSource('cli.ts', ['retry', 'abc', '1 or 1 eq 1', '--json'], cliEnv('operator-bad-only'));
    expect(await cli.exit).toBe(1);
    const result = JSON.parse(cli.output().stdout) as { changed: string[]; failed: { id: string }[] };
    expect(result.changed).toEqual([]);
    expect(result.failed.map((f) => f.id)).toEqual(['abc', '1 or 1 eq 1']);
    expect(h.dv.getRequestCounters().users['operator-bad-only']?.requests ?? 0).toBe(0);
    expect(await statusOf(untouched!)).toBe(OutboxStatus.Pending);
  });
});

describe('item 7: option values are checked before any request', () => {
  it('`outbox tail --interval abc` exits 1 with the reason and makes no request (it once made 3,672 in 10 s)', async () => {
    h.dv.resetRequestCounters();
    const cli = runSource('cli.ts', ['tail', '--interval', 'abc'], cliEnv('tail-abc'));
    expect(await cli.exit).toBe(1);
    expect(cli.output().stderr).toContain('--interval must be a number of seconds from 0.5 to 3600, got "abc"');
    expect(h.dv.getRequestCounters().users['tail-abc']?.requests ?? 0).toBe(0);
  });

  it('`outbox tail --interval 1` polls about once a second', async () => {
    h.dv.resetRequestCounters();
    const cli = runSource('cli.ts', ['tail', '--interval', '1'], cliEnv('tail-one'));
    await waitFor(() => (h.dv.getRequestCounters().users['tail-one']?.requests ?? 0) >= 1, 'the first tail request');
    await new Promise((r) => setTimeout(r, 3000));
    cli.child.kill('SIGINT');
    await cli.exit;
    const requests = h.dv.getRequestCounters().users['tail-one']?.requests ?? 0;
    expect(requests).toBeGreaterThanOrEqual(2);
    expect(requests).toBeLessThanOrEqual(6);
  });
});

describe('item 7: lease scopes', () => {
  it('a scope with "#", "?" or "%" stops the start with a clear error naming OUTBOX_SCOPE and its grammar', async () => {
    for (const scope of ['a#b', 'what?', '100%']) {
      let caught: unknown;
      try {
        readAppSettings({ DATAVERSE_URL: 'https://contoso.crm.dynamics.com', SERVICEBUS_NAMESPACE: 'x.servicebus.windows.net', OUTBOX_SCOPE: scope });
      } catch (e) {
        caught = e;
      }
      expect(isOutboxError(caught) && caught.code).toBe('InvalidSettings');
      expect((caught as Error).message).toContain(`OUTBOX_SCOPE must be 1-200 characters: letters, digits, ".", "_", "-" and ":", starting with a letter or digit; got ${JSON.stringify(scope)}`);
    }
    const worker = runSource('worker.ts', [], { ...cliEnv('publisher-app'), SERVICEBUS_CONNECTION_STRING: h.sb.connectionString, OUTBOX_SCOPE: 'a#b' });
    expect(await worker.exit).toBe(78);
    expect(worker.output().stderr).toContain('OUTBOX_SCOPE must be');
  });

  it('the lease store encodes the alternate-key segment: a scope with # ? % / and quotes is its own lease, not another', async () => {
    const scope = "we#ird?sc%20pe/..'x";
    const a = new DataverseLeaseStore(h.client);
    const b = new DataverseLeaseStore(h.client);
    const until = new Date(Date.now() + 60_000);
    expect(await a.tryAcquire(scope, 'owner-a', until)).toBe(true);
    expect(await b.tryAcquire(scope, 'owner-b', until)).toBe(false);
    expect((await b.read(scope))?.owner).toBe('owner-a');
    // "#" once cut the key to 'we': that lease is untouched and free.
    expect(await b.read('we')).toBeUndefined();
    const rows = await h.client.retrieveMultiple(OutboxLease.entitySetName, { filter: `${OutboxLease.columns.name} eq ${odataLiteral(scope)}` });
    expect(rows.value).toHaveLength(1);
    expect(await b.release(scope, 'owner-b')).toBe(false);
    expect(await a.release(scope, 'owner-a')).toBe(true);
    expect(await b.tryAcquire(scope, 'owner-b', until)).toBe(true);
  });
});

describe('leases: documented settings, standby takes over within a few seconds of a graceful release', () => {
  const hosts: PublisherHost[] = [];
  afterAll(async () => {
    for (const x of hosts) await x.close().catch(() => undefined);
  });

  function host(extra: Record<string, string>): PublisherHost {
    const x = createPublisherFromAppSettings(
      { DATAVERSE_URL: h.dv.url, DATAVERSE_TOKEN: 'publisher-app', SERVICEBUS_CONNECTION_STRING: h.sb.connectionString, ...h.appSettings, ...extra },
      { ackListener: false, deadLetterMonitorIntervalInMs: 0, pendingAgeIntervalInMs: 0, polling: { minIntervalInMs: 50, maxIntervalInMs: 500 } },
    );
    hosts.push(x);
    return x;
  }

  it('OUTBOX_LEASE_DURATION_SECONDS and OUTBOX_STANDBY_POLL_SECONDS are read with defaults 60 and 3', () => {
    const base = { DATAVERSE_URL: 'https://contoso.crm.dynamics.com', SERVICEBUS_NAMESPACE: 'x.servicebus.windows.net' };
    expect(readAppSettings(base)).toMatchObject({ leaseDurationSeconds: 60, standbyPollSeconds: 3 });
    expect(readAppSettings({ ...base, OUTBOX_LEASE_DURATION_SECONDS: '20', OUTBOX_STANDBY_POLL_SECONDS: '2' })).toMatchObject({ leaseDurationSeconds: 20, standbyPollSeconds: 2 });
  });

  it('graceful stop of the holder (60 s lease): the standby publishes the next row within seconds, nothing lost or doubled', async () => {
    const a = host({ OUTBOX_STANDBY_POLL_SECONDS: '1', OUTBOX_SCOPE: 'handover' });
    const b = host({ OUTBOX_STANDBY_POLL_SECONDS: '1', OUTBOX_SCOPE: 'handover' });
    await a.publisher.start();
    await eventually(async () => a.publisher.holdsLease, 'A holds the lease');
    await b.publisher.start();
    await h.writer.transaction((tx) => {
      tx.enqueue({ target: 'invoices', eventType: 'Handover', payload: { n: 1 }, messageId: 'handover-before' });
    });
    await eventually(async () => (await rowByMessageId(h, 'handover-before')).status === OutboxStatus.Published, 'A publishes');
    expect(b.publisher.holdsLease).toBe(false);

    const stoppedAt = Date.now();
    await a.close();
    await h.writer.transaction((tx) => {
      tx.enqueue({ target: 'invoices', eventType: 'Handover', payload: { n: 2 }, messageId: 'handover-after' });
    });
    await eventually(async () => (await rowByMessageId(h, 'handover-after')).status === OutboxStatus.Published, 'B publishes after the hand-over', 30_000, 50);
    const handOverMs = Date.now() - stoppedAt;
    process.stdout.write(`graceful hand-over: the standby published ${handOverMs} ms after the holder began stopping\n`);
    expect(b.publisher.holdsLease).toBe(true);
    // Before: a standby looked every lease/4 = 15 s. Loose bound, not a benchmark.
    expect(handOverMs).toBeLessThan(10_000);
    const got = await drainQueue(h, 'invoices', 2);
    expect(got.map((m) => m.messageId).sort()).toEqual(['handover-after', 'handover-before']);
  });

  it('kill -9 of the holder (worker processes, OUTBOX_LEASE_DURATION_SECONDS=5): the standby publishes once the lease runs out', async () => {
    // Scopes name leases, they do not partition rows: the publishers of the test before must be gone.
    for (const x of hosts.splice(0)) await x.close();
    const env = { ...cliEnv('publisher-app'), SERVICEBUS_CONNECTION_STRING: h.sb.connectionString, ...h.appSettings, OUTBOX_SCOPE: 'crash', OUTBOX_LEASE_DURATION_SECONDS: '5', OUTBOX_STANDBY_POLL_SECONDS: '1' };
    const a = runSource('worker.ts', [], env);
    await waitFor(() => a.output().stderr.includes('"message":"lease acquired"'), 'worker A holds the lease');
    const b = runSource('worker.ts', [], env);
    await waitFor(() => b.output().stderr.includes('"message":"publisher started"'), 'worker B started');
    await h.writer.transaction((tx) => {
      tx.enqueue({ target: 'invoices', eventType: 'Crash', payload: { n: 1 }, messageId: 'crash-before' });
    });
    await eventually(async () => (await rowByMessageId(h, 'crash-before')).status === OutboxStatus.Published, 'A publishes');
    expect(b.output().stderr).not.toContain('"message":"lease acquired"');
    const killedAt = Date.now();
    a.child.kill('SIGKILL');
    await a.exit;
    await h.writer.transaction((tx) => {
      tx.enqueue({ target: 'invoices', eventType: 'Crash', payload: { n: 2 }, messageId: 'crash-after' });
    });
    await eventually(async () => (await rowByMessageId(h, 'crash-after')).status === OutboxStatus.Published, 'B publishes after the lease ran out', 30_000, 50);
    const takeoverMs = Date.now() - killedAt;
    process.stdout.write(`kill -9 with a 5 s lease: the standby published ${takeoverMs} ms after the kill\n`);
    expect(b.output().stderr).toContain('"message":"lease acquired"');
    // At most the lease plus one standby poll and a cycle; with the old fixed 60 s lease this waited a minute.
    expect(takeoverMs).toBeLessThan(15_000);
    b.child.kill('SIGTERM');
    expect(await b.exit).toBe(0);
    const got = await drainQueue(h, 'invoices', 2);
    expect(got.map((m) => m.messageId).sort()).toEqual(['crash-after', 'crash-before']);
  });

  it('the Functions timer run looks for a lease held by a dead instance every standby poll within its budget', async () => {
    for (const x of hosts.splice(0)) await x.close();
    // An instance that died holding the lease for 3 more seconds.
    expect(await new DataverseLeaseStore(h.client).tryAcquire('functions', 'dead-instance', new Date(Date.now() + 3000))).toBe(true);
    await h.writer.transaction((tx) => {
      tx.enqueue({ target: 'invoices', eventType: 'Timer', payload: { n: 1 }, messageId: 'timer-after-dead' });
    });
    const fn = host({ OUTBOX_SCOPE: 'functions', OUTBOX_STANDBY_POLL_SECONDS: '1' });
    const r = await fn.publisher.runFor(10_000, { untilDeadline: true });
    // Before: the run ended at once with outcome no-lease, and the row waited for the next minute's timer.
    expect(r.published).toBeGreaterThanOrEqual(1);
    expect((await rowByMessageId(h, 'timer-after-dead')).status).toBe(OutboxStatus.Published);
    expect((await drainQueue(h, 'invoices', 1)).map((m) => m.messageId)).toEqual(['timer-after-dead']);
  });
});
