// `outbox canary` against both emulators, through the real publisher (with its ack listener) and the consumer
// toolkit's canary responder: the row is written, published, acknowledged and Acked, and the CLI reports each leg. With
// the responder stopped the CLI exits 1 within its timeout naming the "acked" leg; with the publisher stopped, "published".
import { canaryEventType, OutboxStatus } from '@dataverse-outbox/contract';
import { createCanaryResponder, type CanaryResponder } from '@dataverse-outbox/consumer';
import type { CanaryResult } from '../../src/canary';
import type { OutboxPublisher } from '../../src';
import { useHarness, type Harness } from '../support/harness';
import { killSpawned, runSource } from './support';

// The harness's queues are fixed; "invoices" serves as the canary queue here (the target is an option of the CLI).
const CANARY_QUEUE = 'invoices';

let h: Harness;
useHarness((started) => (h = started));
afterAll(() => killSpawned());

const cliEnv = (token: string): Record<string, string> => ({ DATAVERSE_URL: h.dv.url, DATAVERSE_TOKEN: token });

let publisher: OutboxPublisher | undefined;
let responder: CanaryResponder | undefined;
afterEach(async () => {
  await responder?.close();
  await publisher?.close();
  responder = undefined;
  publisher = undefined;
});

it('comes back: exit 0, the row Acked and tagged, each leg with its time', async () => {
  publisher = h.newPublisher({ ackListener: true });
  publisher.start();
  const acknowledged: string[] = [];
  responder = createCanaryResponder({ client: h.serviceBus, queue: CANARY_QUEUE, onAcknowledged: (id) => acknowledged.push(id) });
  const cli = runSource('cli.ts', ['--json', 'canary', '--target', CANARY_QUEUE, '--timeout', '30'], cliEnv('canary-ok'));
  expect(await cli.exit).toBe(0);
  const r = JSON.parse(cli.output().stdout) as CanaryResult;
  expect(r).toMatchObject({ ok: true, status: 'Acked', target: CANARY_QUEUE });
  expect(r.messageId).toMatch(/^canary:[0-9a-f-]{36}$/);
  expect(r.legs.map((l) => l.leg)).toEqual(['published', 'acked']);
  for (const l of r.legs) expect(typeof l.durationMs).toBe('number');
  expect(acknowledged).toEqual([r.messageId]);
  const [row] = await h.store.readByIds([r.rowId]);
  expect(row).toMatchObject({ status: OutboxStatus.Acked, eventType: canaryEventType, messageId: r.messageId });
});

it('responder stopped: exit 1 within the timeout, naming the "acked" leg', async () => {
  publisher = h.newPublisher({ ackListener: true });
  publisher.start();
  const cli = runSource('cli.ts', ['canary', '--target', CANARY_QUEUE, '--timeout', '3'], cliEnv('canary-no-responder'));
  expect(await cli.exit).toBe(1);
  expect(cli.output().stderr).toContain('outbox: canary: stalled at "acked": no acked time within 3 s (row Published)');
  expect(cli.output().stdout).toMatch(/published\s+\d+\.\d s/);
  expect(cli.output().stdout).toMatch(/acked\s+STALLED/);
});

it('publisher stopped: exit 1 naming the "published" leg; a bad --timeout stops before any request', async () => {
  const cli = runSource('cli.ts', ['canary', '--target', CANARY_QUEUE, '--timeout', '2'], cliEnv('canary-no-publisher'));
  expect(await cli.exit).toBe(1);
  expect(cli.output().stderr).toContain('stalled at "published": no published time within 2 s (row Pending)');
  const bad = runSource('cli.ts', ['canary', '--timeout', '0'], cliEnv('canary-bad'));
  expect(await bad.exit).toBe(1);
  expect(bad.output().stderr).toContain('--timeout must be a whole number of seconds from 1 to 3600, got "0"');
});
