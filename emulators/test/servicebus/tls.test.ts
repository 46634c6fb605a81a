// The optional amqps listener: a certificate given by the caller is the one served, a client that trusts it connects
// (rhea over TLS with SASL PLAIN), one that does not is refused by its own verification; option checks.
import { connect } from 'node:net';
import { generate } from 'selfsigned';
import { create_container, type ConnectionOptions } from 'rhea';
import { startServiceBusEmulator, type ServiceBusEmulator } from '@dataverse-outbox/emulators/servicebus';

describe('Service Bus emulator: TLS listener', () => {
  let emulator: ServiceBusEmulator;
  let cert: string;
  beforeAll(async () => {
    const pems = await generate([{ name: 'commonName', value: 'given.test' }], {
      keySize: 2048,
      extensions: [{ name: 'subjectAltName', altNames: [{ type: 7, ip: '127.0.0.1' }] }],
    });
    cert = pems.cert;
    emulator = await startServiceBusEmulator({ port: 0, tls: { cert: pems.cert, key: pems.private }, tlsPort: 0 });
  });
  afterAll(async () => emulator.close());

  const connectTls = (options: Partial<ConnectionOptions>) =>
    new Promise<{ outcome: string; peerSubject?: string }>((resolve) => {
      const connection = create_container().connect({
        host: '127.0.0.1',
        port: emulator.tlsPort,
        transport: 'tls',
        reconnect: false,
        username: 'RootManageSharedAccessKey',
        password: 'SAS_KEY_VALUE',
        ...options,
      } as ConnectionOptions);
      connection.on('connection_open', () => {
        const socket = (connection as unknown as { socket: { getPeerCertificate(): { subject?: { CN?: string } } } }).socket;
        const peerSubject = socket.getPeerCertificate().subject?.CN;
        connection.close();
        resolve({ outcome: 'open', peerSubject });
      });
      connection.on('disconnected', (ctx) => resolve({ outcome: `disconnected: ${String((ctx.error as Error | undefined)?.message ?? ctx.error)}` }));
    });

  it('serves the given certificate to a client that trusts it', async () => {
    expect(emulator.certificate).toBe(cert);
    expect(emulator.tlsConnectionString).toBe(`Endpoint=sb://127.0.0.1:${emulator.tlsPort};SharedAccessKeyName=RootManageSharedAccessKey;SharedAccessKey=SAS_KEY_VALUE`);
    await expect(connectTls({ ca: [cert] } as Partial<ConnectionOptions>)).resolves.toEqual({ outcome: 'open', peerSubject: 'given.test' });
  });

  it('a client that does not trust it refuses the handshake', async () => {
    const result = await connectTls({});
    expect(result.outcome).toMatch(/disconnected: .*self[- ]signed/i);
  });

  it('closes a connection that never starts the TLS handshake after the handshake timeout', async () => {
    const quick = await startServiceBusEmulator({ tls: 'generate', handshakeTimeoutInMs: 300 });
    try {
      const closed = await new Promise<boolean>((resolve) => {
        const socket = connect(quick.tlsPort!, '127.0.0.1'); // silent: no ClientHello
        socket.on('close', () => resolve(true));
        socket.on('error', () => undefined);
        setTimeout(() => resolve(false), 10_000).unref();
      });
      expect(closed).toBe(true);
    } finally {
      await quick.close();
    }
  });

  it('refuses tlsPort 5672, and tlsPort without tls', async () => {
    await expect(startServiceBusEmulator({ tls: 'generate', tlsPort: 5672 })).rejects.toThrow(/5672/);
    await expect(startServiceBusEmulator({ tlsPort: 0 })).rejects.toThrow(/tlsPort needs tls/);
  });
});
