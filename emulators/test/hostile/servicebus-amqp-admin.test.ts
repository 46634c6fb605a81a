// Hostile input against the Service Bus emulator: raw AMQP bytes (bad protocol headers, garbage, SASL garbage, huge
// declared frames before and after open, a silent peer) and its admin HTTP server (forged Host, foreign Origin,
// cross-site text/plain posts, preflights, bad bodies). Each case gets its specific refusal, and an SDK client that
// stays connected the whole time still sends and receives after every case.
import { ServiceBusClient, type ServiceBusReceiver, type ServiceBusSender } from '@azure/service-bus';
import { ADMIN_WRITE_HEADER, buildEmulatorConfig, startServiceBusEmulator, type ServiceBusEmulator } from '@dataverse-outbox/emulators/servicebus';
import { fastRetries } from '../servicebus/support';
import { AMQP_HEADER, beginFrame, declaredFrame, frame, openFrame, rawAmqp, saslInit, SASL_HEADER, throughSasl, type RawSession } from './amqpBytes';
import { raw, type RawRequest } from './rawHttp';

let emulator: ServiceBusEmulator;
let client: ServiceBusClient;
let sender: ServiceBusSender;
let receiver: ServiceBusReceiver;
let adminPort: number;
let round = 0;

beforeAll(async () => {
  emulator = await startServiceBusEmulator({ port: 0, handshakeTimeoutInMs: 500, config: buildEmulatorConfig({ queues: [{ name: 'work' }] }) });
  adminPort = Number(new URL(emulator.adminUrl).port);
  client = new ServiceBusClient(emulator.connectionString, fastRetries);
  sender = client.createSender('work');
  receiver = client.createReceiver('work', { receiveMode: 'receiveAndDelete' });
});
afterAll(async () => {
  await client.close();
  await emulator.close();
});

/** The good traffic beside every hostile case: one message through the same connection, in and out. */
async function goodTrafficFlows(): Promise<void> {
  const body = `good-${++round}`;
  await sender.sendMessages({ body });
  const got = await receiver.receiveMessages(1, { maxWaitTimeInMs: 5000 });
  expect(got.map((m) => m.body as string)).toEqual([body]);
}

const closeFrameWith = (bytes: Buffer, condition: string): boolean => bytes.includes(Buffer.from([0x00, 0x53, 0x18])) && bytes.includes(Buffer.from(condition, 'ascii'));

interface AmqpCase {
  name: string;
  run(s: RawSession): Promise<void>;
  /** What the server sent back before closing. */
  answer(received: Buffer): void;
}

const amqpCases: AmqpCase[] = [
  {
    name: 'an HTTP request on the AMQP port',
    run: async (s) => s.write(Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n')),
    answer: (r) => expect(r.subarray(0, 8)).toEqual(SASL_HEADER),
  },
  {
    name: 'AMQP header with version 2.0.0',
    run: async (s) => s.write(Buffer.from([0x41, 0x4d, 0x51, 0x50, 0, 2, 0, 0])),
    answer: (r) => expect(r.subarray(0, 8)).toEqual(SASL_HEADER),
  },
  {
    name: 'TLS protocol id 2 in the header',
    run: async (s) => s.write(Buffer.from([0x41, 0x4d, 0x51, 0x50, 2, 1, 0, 0])),
    answer: (r) => expect(r.subarray(0, 8)).toEqual(SASL_HEADER),
  },
  {
    name: 'garbage after the SASL header (a frame size of 3)',
    run: async (s) => s.write(Buffer.concat([SASL_HEADER, Buffer.from([0, 0, 0, 3, 0xde, 0xad, 0xbe, 0xef])])),
    answer: (r) => expect(r.includes(Buffer.from([0x00, 0x53, 0x18]))).toBe(false),
  },
  {
    name: 'SASL frame with a garbage performative',
    run: async (s) => s.write(Buffer.concat([SASL_HEADER, frame(1, Buffer.from('not an amqp performative at all'))])),
    answer: () => undefined,
  },
  {
    name: 'a 4 GiB frame declared right after the SASL header (then 1 MB of it)',
    run: async (s) => {
      s.write(Buffer.concat([SASL_HEADER, declaredFrame(0xffffffff, 1)]));
      s.write(Buffer.alloc(1024 * 1024, 0x41));
    },
    answer: () => undefined,
  },
  {
    name: 'a 513-byte SASL init (over the 512 bytes allowed before open)',
    run: async (s) => s.write(Buffer.concat([SASL_HEADER, saslInit(600)])),
    answer: () => undefined,
  },
  {
    name: 'a 400 MB frame declared after SASL, before open',
    run: async (s) => {
      await throughSasl(s);
      s.write(Buffer.concat([AMQP_HEADER, declaredFrame(400 * 1024 * 1024)]));
    },
    answer: (r) => {
      expect(closeFrameWith(r, 'amqp:connection:framing-error')).toBe(true);
      expect(r.toString('latin1')).toContain('until open is negotiated frames are limited to 512 bytes');
    },
  },
  {
    name: 'a begin frame before open',
    run: async (s) => {
      await throughSasl(s);
      s.write(Buffer.concat([AMQP_HEADER, beginFrame()]));
    },
    answer: (r) => {
      expect(closeFrameWith(r, 'amqp:connection:framing-error')).toBe(true);
      expect(r.toString('latin1')).toContain('The first AMQP frame must be open');
    },
  },
  {
    name: 'a frame with data offset 1',
    run: async (s) => {
      await throughSasl(s);
      const bad = openFrame();
      bad[4] = 1;
      s.write(Buffer.concat([AMQP_HEADER, bad]));
    },
    answer: (r) => expect(r.toString('latin1')).toContain('data offset 1'),
  },
  {
    name: 'a frame over the negotiated max-frame-size after open',
    run: async (s) => {
      await throughSasl(s);
      s.write(Buffer.concat([AMQP_HEADER, openFrame()]));
      await s.receivedAtLeast(s.received().length + 1); // the server's header and open
      s.write(declaredFrame(0x7fffffff));
    },
    answer: (r) => {
      expect(closeFrameWith(r, 'amqp:connection:framing-error')).toBe(true);
      expect(r.toString('latin1')).toContain('exceeds the negotiated max-frame-size');
    },
  },
  {
    name: 'slowloris: half a protocol header, then silence',
    run: async (s) => s.write(Buffer.from('AMQ')),
    answer: (r) => expect(r.length).toBe(0),
  },
  {
    name: 'slowloris: SASL done, AMQP header, never an open',
    run: async (s) => {
      await throughSasl(s);
      s.write(AMQP_HEADER);
    },
    answer: (r) => expect(closeFrameWith(r, 'amqp:')).toBe(false),
  },
];

describe('Service Bus emulator AMQP listener', () => {
  test.each(amqpCases.map((c) => [c.name, c] as const))('hostile: %s', async (_name, c) => {
    const session = await rawAmqp(emulator.port);
    try {
      await c.run(session);
      await session.closed; // the server closes every one of these connections
      c.answer(session.received());
    } finally {
      session.destroy();
    }
    await goodTrafficFlows();
  });
});

interface AdminCase {
  name: string;
  request: () => RawRequest;
  status: number;
  error: RegExp;
}

const own = (): string => `127.0.0.1:${adminPort}`;
const adminCases: AdminCase[] = [
  { name: 'forged Host on GET /entities', request: () => ({ path: '/entities', headers: { Host: 'evil.example' } }), status: 403, error: /DNS-rebinding/ },
  { name: 'DNS-rebinding Host with the right port', request: () => ({ path: '/entities', headers: { Host: `rebind.attacker.test:${adminPort}` } }), status: 403, error: /rebind\.attacker\.test/ },
  { name: 'cross-site text/plain POST creating a queue', request: () => ({ method: 'POST', path: '/entities', headers: { 'Content-Type': 'text/plain', Origin: 'https://evil.example' }, body: '{"queue":{"name":"planted"}}' }), status: 403, error: /Cross-origin/ },
  { name: 'text/plain POST dropping every connection, no Origin, no admin header', request: () => ({ method: 'POST', path: '/faults/drop-connections', headers: { 'Content-Type': 'text/plain' }, body: '' }), status: 403, error: /x-emulator-admin/ },
  { name: 'Origin: null on a fault injection', request: () => ({ method: 'POST', path: '/faults/refuse-attaches', headers: { Origin: 'null', [ADMIN_WRITE_HEADER]: '1' }, body: '{"durationInMs":60000}' }), status: 403, error: /Origin "null"/ },
  { name: 'OPTIONS preflight', request: () => ({ method: 'OPTIONS', path: '/entities', headers: { Origin: `http://${own()}`, 'Access-Control-Request-Method': 'POST' } }), status: 403, error: /CORS preflight refused/ },
  { name: 'DELETE /faults without the admin header', request: () => ({ method: 'DELETE', path: '/faults' }), status: 403, error: /x-emulator-admin/ },
  { name: 'body that is not JSON', request: () => ({ method: 'POST', path: '/entities', headers: { [ADMIN_WRITE_HEADER]: '1' }, body: '{queue:' }), status: 400, error: /must be a JSON object/ },
  { name: 'JSON array nested 100,000 deep', request: () => ({ method: 'POST', path: '/entities', headers: { [ADMIN_WRITE_HEADER]: '1' }, body: `${'['.repeat(100_000)}${']'.repeat(100_000)}` }), status: 400, error: /must be a JSON object/ },
  { name: 'body over 1 MB', request: () => ({ method: 'POST', path: '/faults/delay-sends', headers: { [ADMIN_WRITE_HEADER]: '1' }, body: `{"x":"${'x'.repeat(1_100_000)}"}` }), status: 413, error: /too large/ },
  { name: 'bad %-encoding in a dead-letter path', request: () => ({ path: '/entities/%E0%A4%A/deadletters' }), status: 400, error: /percent-encoding/ },
  { name: 'a queue name that is not a string', request: () => ({ method: 'POST', path: '/entities', headers: { [ADMIN_WRITE_HEADER]: '1' }, body: '{"queue":{"name":{"$gt":""}}}' }), status: 400, error: /./ },
  { name: 'delay of NaN milliseconds', request: () => ({ method: 'POST', path: '/faults/delay-sends', headers: { [ADMIN_WRITE_HEADER]: '1' }, body: '{"delayInMs":"NaN"}' }), status: 400, error: /"delayInMs" must be a number/ },
  { name: 'a route it does not serve', request: () => ({ method: 'PUT', path: '/health', headers: { [ADMIN_WRITE_HEADER]: '1' } }), status: 404, error: /No route for PUT \/health/ },
];

describe('Service Bus emulator admin server', () => {
  test.each(adminCases.map((c) => [c.name, c] as const))('hostile: %s', async (_name, c) => {
    const entitiesBefore = (await raw(adminPort, { path: '/entities' })).json['entities'];
    const [res] = await Promise.all([raw(adminPort, c.request()), goodTrafficFlows()]);
    expect(res.status).toBe(c.status);
    expect(String(res.json.error)).toMatch(c.error);
    // Nothing planted, no fault left on: the entity list is the same and traffic still flows.
    expect((await raw(adminPort, { path: '/faults' })).json).toMatchObject({ refusedAttaches: [] });
    const entitiesAfter = (await raw(adminPort, { path: '/entities' })).json['entities'] as { name: string }[];
    expect(entitiesAfter.map((e) => e.name)).toEqual((entitiesBefore as { name: string }[]).map((e) => e.name));
    await goodTrafficFlows();
  });

  test('the product keeps working: same-origin Origin and localhost Host are served, writes with the header', async () => {
    expect((await raw(adminPort, { path: '/entities', headers: { Origin: `http://${own()}` } })).status).toBe(200);
    expect((await raw(adminPort, { path: '/health', headers: { Host: `localhost:${adminPort}` } })).status).toBe(200);
    expect((await raw(adminPort, { method: 'DELETE', path: '/faults', headers: { [ADMIN_WRITE_HEADER]: '1' } })).status).toBe(200);
  });
});
