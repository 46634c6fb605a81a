// SASL as Service Bus offers it (MSSBCBS, PLAIN, ANONYMOUS, EXTERNAL), read from the sasl-mechanisms frame, and SASL
// PLAIN checked against the emulator's SAS key through rhea (the AMQP client under @azure/service-bus).
import { connect } from 'node:net';
import { create_container, type ConnectionOptions } from 'rhea';
import { startServiceBusEmulator, type ServiceBusEmulator } from '@dataverse-outbox/emulators/servicebus';

describe('Service Bus emulator: SASL', () => {
  let emulator: ServiceBusEmulator;
  beforeAll(async () => {
    emulator = await startServiceBusEmulator({ port: 0, sharedAccessKeyName: 'Sender', sharedAccessKey: 'c2VjcmV0' });
  });
  afterAll(async () => emulator.close());

  it('offers MSSBCBS, PLAIN, ANONYMOUS and EXTERNAL, in that order', async () => {
    const bytes = await new Promise<Buffer>((resolve, reject) => {
      const socket = connect(emulator.port, '127.0.0.1', () => socket.write(Buffer.from([0x41, 0x4d, 0x51, 0x50, 3, 1, 0, 0])));
      let received = Buffer.alloc(0);
      socket.on('data', (chunk: Buffer) => {
        received = Buffer.concat([received, chunk]);
        if (received.length >= 8 + 8 && received.length >= 8 + received.readUInt32BE(8)) {
          socket.destroy();
          resolve(received);
        }
      });
      socket.on('error', reject);
    });
    const text = bytes.toString('latin1');
    const offered = ['MSSBCBS', 'PLAIN', 'ANONYMOUS', 'EXTERNAL'].map((m) => text.indexOf(m));
    expect(offered.every((i) => i > 0)).toBe(true);
    expect([...offered].sort((a, b) => a - b)).toEqual(offered);
    expect(emulator.connectionString).toContain('SharedAccessKeyName=Sender;SharedAccessKey=c2VjcmV0;');
  });

  const openWith = (options: Partial<ConnectionOptions>) =>
    new Promise<string>((resolve) => {
      const container = create_container();
      const connection = container.connect({ host: '127.0.0.1', port: emulator.port, reconnect: false, ...options } as ConnectionOptions);
      connection.on('connection_open', () => {
        connection.close();
        resolve('open');
      });
      const explain = (error: unknown) => {
        const e = error as { condition?: string; message?: string } | undefined;
        return `${String(e?.condition)} ${String(e?.message)}`;
      };
      connection.on('connection_error', (ctx) => resolve(`error: ${explain(ctx.error ?? ctx.connection.error)}`));
      connection.on('disconnected', (ctx) => resolve(`disconnected: ${explain(ctx.error)}`));
    });

  it('admits SASL PLAIN with the configured key name and key', async () => {
    await expect(openWith({ username: 'Sender', password: 'c2VjcmV0' })).resolves.toBe('open');
  });

  it('refuses SASL PLAIN with a wrong key or key name as unauthorized', async () => {
    // sasl-outcome code 1 (auth): rhea reports amqp:unauthorized-access "Failed to authenticate: 1".
    await expect(openWith({ username: 'Sender', password: 'wrong' })).resolves.toMatch(/unauthorized-access Failed to authenticate: 1/);
    await expect(openWith({ username: 'RootManageSharedAccessKey', password: 'c2VjcmV0' })).resolves.toMatch(/unauthorized-access Failed to authenticate: 1/);
  });
});
